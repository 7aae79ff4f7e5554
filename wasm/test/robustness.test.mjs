// Seeded random damage to valid bundles and requests: every call either succeeds or throws a
// plain `Error` whose message names a JSON path (or the JSON syntax position); never a
// `WebAssembly.RuntimeError` (a panic or trap), and the module keeps working afterwards.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { bundlePath, freshProject, read } from './helpers.mjs';

const require = createRequire(join(freshProject('robustness'), 'index.js'));
const { Planner, fitModel } = require('optiserve');

// mulberry32: a small deterministic generator, so a failure can be replayed.
function rng(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WEIRD = [0, -1, 1, 0.5, 1e308, -1e308, 5e-324, 2 ** 53, 10240, 128, '', 'x', null, true, [], {}, [1, 2], { kind: 'table', points: [] }];

/** Paths to every value in `v`. */
function paths(v, at = []) {
  const out = [at];
  if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) out.push(...paths(x, [...at, Array.isArray(v) ? Number(k) : k]));
  }
  return out;
}

function damage(value, random) {
  const v = structuredClone(value);
  const all = paths(v).filter((p) => p.length > 0);
  const n = 1 + Math.floor(random() * 3);
  for (let i = 0; i < n; i++) {
    const path = all[Math.floor(random() * all.length)];
    let parent = v;
    for (const k of path.slice(0, -1)) parent = parent?.[k];
    if (!parent || typeof parent !== 'object') continue;
    const key = path.at(-1);
    const r = random();
    if (r < 0.3 && !Array.isArray(parent)) delete parent[key];
    else if (r < 0.4 && Array.isArray(parent)) parent.splice(key, 1);
    else if (r < 0.5 && Array.isArray(parent)) parent.push(structuredClone(parent[0] ?? 0));
    else if (r < 0.65 && typeof parent[key] === 'number') parent[key] *= [-1, 0, 1e6, 1e-6, 3][Math.floor(random() * 5)];
    else parent[key] = structuredClone(WEIRD[Math.floor(random() * WEIRD.length)]);
  }
  return v;
}

function expectCleanError(call, what) {
  try {
    call();
  } catch (e) {
    assert.ok(!(e instanceof WebAssembly.RuntimeError), `${what}: the module trapped: ${e.message}`);
    assert.ok(e instanceof Error, `${what}: not an Error: ${e}`);
    assert.match(e.message, /^(\$|invalid JSON|nodeLimit|the exact Pareto front needs more than)/, `${what}: ${e.message}`);
  }
}

test('damaged bundles, requests and samples never trap the module', (t) => {
  const random = rng(20261128);
  const bundles = ['app3', 'media-pipeline'].map((b) => JSON.parse(read(bundlePath(b))));
  let planned = 0;
  for (let i = 0; i < 400; i++) {
    const bundle = damage(bundles[i % bundles.length], random);
    let planner = null;
    expectCleanError(() => { planner = new Planner(bundle); }, `bundle #${i}`);
    if (!planner) continue;
    planned++;
    const request = damage({ objective: 'latency', constraints: { max_cost_usd_per_million: 900, min_accuracy: 0.5 } }, random);
    expectCleanError(() => planner.optimize(request), `optimize #${i} ${JSON.stringify(request)}`);
    const sweep = damage({ objective: 'cost', vary: [{ constraint: 'min_accuracy', from: 0, to: 1, steps: 3 }], fixed: { max_latency_ms: 20000 } }, random);
    expectCleanError(() => planner.whatIf(sweep), `whatIf #${i} ${JSON.stringify(sweep)}`);
    expectCleanError(() => planner.evaluate(damage(bundle.deployed ?? {}, random)), `evaluate #${i}`);
    expectCleanError(() => planner.pareto(20000), `pareto #${i}`);
    planner.free();
  }
  for (let i = 0; i < 200; i++) {
    const samples = damage([{ memory_mb: 128, duration_ms: 2900 }, { memory_mb: 512, duration_ms: 800 }, { memory_mb: 2048, duration_ms: 260 }], random);
    expectCleanError(() => fitModel(samples), `fitModel #${i} ${JSON.stringify(samples)}`);
  }
  t.diagnostic(`${planned} of 400 damaged bundles were still valid and were planned`);
  assert.ok(planned > 20, `only ${planned} damaged bundles were still valid`);
  // Still healthy.
  const s = new Planner(read(bundlePath('app3'))).optimize({ objective: 'latency', constraints: { max_cost_usd_per_million: 800, min_accuracy: 1.8 } });
  assert.equal(s.status, 'optimal');
});
