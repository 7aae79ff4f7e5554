// The packed package, installed into a fresh project, against the native CLI on the example
// bundles: the same numbers (within 1e-9) and the same errors.
//
//   node --test wasm/test/   (after scripts/build-wasm.sh)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import {
  BUNDLES, EXAMPLES, ROOT, assertClose, bundlePath, cli, cliError, cliJson, freshProject, read,
  tempDir, withoutElapsed,
} from './helpers.mjs';

const project = freshProject('api');
// Loaded the way a Node user loads it (`exports` → the Node build).
const require = createRequire(join(project, 'index.js'));
const { Planner, fitModel, importOptiserveSpec } = require('optiserve');
const scratch = tempDir('api-scratch');

const flags = (c = {}) =>
  Object.entries(c).flatMap(([k, v]) => [`--${k.replaceAll('_', '-')}`, String(v)]);

for (const name of BUNDLES) {
  const file = bundlePath(name);
  const text = read(file);
  const planner = new Planner(text);

  test(`${name}: validate and evaluate equal the CLI`, () => {
    assertClose(planner.validate(), cliJson(['validate', file]));
    assertClose(planner.evaluate(), cliJson(['evaluate', file]));
    // The same from the bundle as an object.
    const fromObject = new Planner(JSON.parse(text));
    assertClose(fromObject.evaluate(), cliJson(['evaluate', file]));
  });

  test(`${name}: optimize equals the CLI, and its configuration evaluates as the CLI's`, () => {
    const deployed = planner.evaluate();
    const [lo, hi] = planner.validate().accuracy_range;
    const mid = lo + (hi - lo) / 2;
    const problems = [
      { objective: 'latency', constraints: {} },
      { objective: 'cost', constraints: {} },
      { objective: 'accuracy', constraints: {} },
      { objective: 'latency', constraints: { max_cost_usd_per_million: deployed.cost_usd_per_million * 1.5, min_accuracy: mid } },
      { objective: 'cost', constraints: { max_latency_ms: deployed.latency_ms * 0.8, min_accuracy: mid } },
      { objective: 'accuracy', constraints: { max_latency_ms: deployed.latency_ms, max_cost_usd_per_million: deployed.cost_usd_per_million * 2 } },
    ];
    if (name === 'app3') {
      problems.push(
        { objective: 'latency', constraints: { max_cost_usd_per_million: 800, min_accuracy: 1.8 } },
        { objective: 'latency', constraints: { max_cost_usd_per_million: 400, min_accuracy: 2 } },
        { objective: 'cost', constraints: { max_latency_ms: 9000 }, solver: 'greedy' },
        { objective: 'accuracy', constraints: { max_cost_usd_per_million: 700 }, solver: 'brute-force' },
      );
    }
    for (const p of problems) {
      const args = ['optimize', file, '--objective', p.objective, ...flags(p.constraints)];
      if (p.solver) args.push('--solver', p.solver);
      const expected = withoutElapsed(cliJson(args, { allow: [0, 2] }));
      const solution = planner.optimize(p);
      assert.equal(typeof solution.elapsed_ms, 'number');
      assertClose(withoutElapsed(solution), expected, JSON.stringify(p));
      if (solution.config) {
        const config = join(scratch, `${name}-config.json`);
        writeFileSync(config, JSON.stringify(solution));
        assertClose(planner.evaluate(solution), cliJson(['evaluate', file, '--config', config]));
        assertClose(planner.evaluate(solution.config), cliJson(['evaluate', file, '--config', config]));
      }
    }
  });

  test(`${name}: whatIf equals the CLI`, () => {
    const deployed = planner.evaluate();
    const [lo, hi] = planner.validate().accuracy_range;
    const request = {
      objective: 'cost',
      vary: [
        { constraint: 'max_latency_ms', from: deployed.latency_ms * 0.5, to: deployed.latency_ms * 1.5, steps: 4 },
        { constraint: 'min_accuracy', from: lo, to: hi, steps: 3 },
      ],
      fixed: { max_cost_usd_per_million: deployed.cost_usd_per_million * 3 },
    };
    const vary = request.vary.map(
      (v) => `${v.constraint.replaceAll('_', '-')}=${v.from}:${v.to}:${v.steps}`,
    );
    const expected = cliJson([
      'whatif', file, '--objective', 'cost', '--vary', vary[0], '--vary', vary[1],
      '--fixed', `max-cost-usd-per-million=${request.fixed.max_cost_usd_per_million}`,
    ]);
    const points = planner.whatIf(request);
    assert.equal(points.length, 12);
    assertClose(points, expected);
  });
}

test('simulate: the same seed gives exactly the CLI\'s numbers', () => {
  for (const name of BUNDLES) {
    const file = bundlePath(name);
    const planner = new Planner(read(file));
    const expected = cliJson(['simulate', file, '--runs', '20000', '--seed', '42']);
    assert.deepStrictEqual(planner.simulate({ runs: 20000, seed: 42 }), expected, name);
    // With a configuration, and from durations modelled.
    const answer = planner.optimize({ objective: 'cost' });
    const config = join(scratch, `${name}-sim-config.json`);
    writeFileSync(config, JSON.stringify(answer));
    assert.deepStrictEqual(
      planner.simulate({ config: answer, runs: 5000, seed: 7, durations: 'model' }),
      cliJson(['simulate', file, '--config', config, '--runs', '5000', '--seed', '7', '--durations', 'model']),
      name,
    );
  }
  // Without a seed one is drawn, reported, and reproduces the run.
  const planner = new Planner(read(bundlePath('media-pipeline')));
  const a = planner.simulate({ runs: 1000 });
  assert.ok(Number.isSafeInteger(a.seed));
  assert.deepStrictEqual(planner.simulate({ runs: 1000, seed: a.seed }), a);
  assert.notEqual(planner.simulate({ runs: 1000 }).seed, a.seed);
  assert.throws(() => planner.simulate({ runs: 0, seed: 1 }), /^Error: \$\.runs: must be at least 1$/);
  assert.throws(() => planner.simulate({ nope: 1 }), /^Error: \$\.nope: unknown field/);
});

test('tail-aware optimize and whatIf give exactly the CLI\'s numbers for the same seed', () => {
  const file = bundlePath('media-pipeline');
  const planner = new Planner(read(file));
  const problems = [
    { objective: 'cost', constraints: { max_p95_latency_ms: 12000 } },
    { objective: 'p95_latency', constraints: { max_cost_usd_per_million: 600 } },
    { objective: 'accuracy', constraints: { max_p99_latency_ms: 20000, max_cost_usd_per_million: 900 } },
    { objective: 'cost', constraints: { max_p95_latency_ms: 3000 } },
  ];
  for (const p of problems) {
    const settings = { scenarios: 1000, seed: 5, certify_runs: 20000 };
    const expected = withoutElapsed(cliJson(
      ['optimize', file, '--objective', p.objective.replace('_', '-'), ...flags(p.constraints),
        '--scenarios', '1000', '--seed', '5', '--certify-runs', '20000'],
      { allow: [0, 2] },
    ));
    assert.deepStrictEqual(withoutElapsed(planner.optimize({ ...p, ...settings })), expected, JSON.stringify(p));
  }
  const request = {
    objective: 'cost',
    vary: [{ constraint: 'max_p95_latency_ms', from: 9000, to: 21000, steps: 3 }],
    fixed: { min_accuracy: 0.5 },
    scenarios: 1000,
    seed: 3,
    certify_runs: 10000,
  };
  const expected = cliJson(['whatif', file, '--objective', 'cost', '--vary', 'max-p95-latency-ms=9000:21000:3',
    '--fixed', 'min-accuracy=0.5', '--scenarios', '1000', '--seed', '3', '--certify-runs', '10000']);
  const strip = (points) => points.map((q) => ({ ...q, solution: withoutElapsed(q.solution) }));
  assert.deepStrictEqual(strip(planner.whatIf(request)), strip(expected));
  // A tail-aware request without a seed draws one and reports it.
  const s = planner.optimize({ objective: 'p95_latency', scenarios: 300, certify_runs: 0 });
  assert.ok(Number.isSafeInteger(s.tail.seed));
  assert.throws(() => planner.optimize({ objective: 'p95_latency', solver: 'greedy', seed: 1 }), /^Error: \$\.solver: the greedy heuristics/);
});

test('app3: pareto equals the CLI', () => {
  const file = bundlePath('app3');
  const front = new Planner(read(file)).pareto();
  assert.equal(front.length, 1291);
  assertClose(front, cliJson(['pareto', file]));
});

test('structure(): the reduced workflow as a tree, the same as validate().structure', () => {
  const planner = new Planner(read(bundlePath('media-pipeline')));
  const tree = planner.structure();
  // Rendered the way `validate` renders it, the tree gives the CLI's one-line structure.
  const show = (b) => {
    switch (b.kind) {
      case 'function': return b.id;
      case 'sequence': return b.items.length ? b.items.map(show).join(' → ') : '∅';
      case 'branch': return `branch(${b.arms.map((a) => `${a.probability}: ${show(a.block)}`).join(' | ')})`;
      case 'parallel': return `parallel(${b.arms.map(show).join(' ‖ ')})`;
      case 'loop': return `loop×${b.expected_runs.toFixed(4)}(${show(b.body)})`;
      default: throw new Error(`unknown block ${b.kind}`);
    }
  };
  assert.equal(show(tree), cliJson(['validate', bundlePath('media-pipeline')]).structure);
  assert.ok(JSON.stringify(tree).includes('"self_loop":true'));
});

test('media pipeline: a front past the node limit is the CLI error, thrown', () => {
  const file = bundlePath('media-pipeline');
  const planner = new Planner(read(file));
  const expected = cliError(['pareto', file, '--node-limit', '10000']);
  assert.throws(() => planner.pareto(10000), (e) => e instanceof Error && e.message === expected);
  assert.throws(() => planner.pareto(-1), /nodeLimit: must be a whole number/);
});

test('fitModel equals `optiserve fit`', () => {
  const csv = read(join(ROOT, 'profiler/tests/fixtures/measured-profile.csv'));
  const samples = csv
    .split('\n')
    .filter((l) => l.trim() && !l.startsWith('#') && !l.startsWith('memory_mb'))
    .map((l) => {
      const [memory_mb, duration_ms] = l.split(',').map(Number);
      return { memory_mb, duration_ms };
    });
  const file = join(scratch, 'samples.json');
  writeFileSync(file, JSON.stringify(samples));
  const expected = cliJson(['fit', file]);
  assertClose(fitModel(samples), expected);
  assertClose(fitModel(JSON.stringify(samples)), expected);
  assertClose(cliJson(['fit', join(ROOT, 'profiler/tests/fixtures/measured-profile.csv')]), expected);
  assert.equal(expected.family, 'cpu_share');
  assert.deepEqual(
    expected.candidates.map((c) => c.family),
    ['exponential', 'cpu_share', 'table'],
  );
  for (const model of ['auto', 'exponential', 'cpu-share', 'table']) {
    assertClose(fitModel(samples, model), cliJson(['fit', '--model', model, file]));
  }
});

test('importOptiserveSpec equals `optiserve import optiserve-spec`', () => {
  const spec = join(EXAMPLES, 'app3.optiserve-spec.json');
  const out = join(scratch, 'imported.bundle.json');
  const r = cli(['import', 'optiserve-spec', spec, '-o', out]);
  assert.equal(r.status, 0, r.stderr);
  const bundle = importOptiserveSpec(read(spec));
  assertClose(bundle, JSON.parse(read(out)));
  assertClose(importOptiserveSpec(JSON.parse(read(spec))), bundle);
  // It plans like the committed example.
  assertClose(new Planner(bundle).evaluate(), new Planner(read(bundlePath('app3'))).evaluate());
});

// Malformed bundles: the message is the CLI's (same text in, same path out).
const app3 = JSON.parse(read(bundlePath('app3')));
const mutate = (f) => {
  const b = structuredClone(app3);
  f(b);
  return b;
};
const BAD_BUNDLES = {
  'not JSON': '{"schema": "optiserve.bundle/v1",',
  'another schema': { ...app3, schema: 'optiserve.bundle/v9' },
  'no schema': { functions: [] },
  'wrong type': mutate((b) => { b.functions[1].variants[0].model.alpha_ms = 'fast'; }),
  'unknown field': mutate((b) => { b.functions[0].memry = 3; }),
  'branch not summing to 1': mutate((b) => { b.workflow.edges.find((e) => e.probability < 1).probability = 0.01; }),
  'unknown function in the workflow': mutate((b) => { b.workflow.edges[0].to = 'nobody'; }),
  'memory out of range': mutate((b) => { b.functions[0].memory = [64]; }),
  'deployed variant unknown': mutate((b) => { b.deployed = { resnet: { memory_mb: 1024, variant: 'resnet-9000' } }; }),
};

test('malformed bundles throw the CLI error, naming the JSON path', () => {
  for (const [what, bundle] of Object.entries(BAD_BUNDLES)) {
    const text = typeof bundle === 'string' ? bundle : JSON.stringify(bundle, null, 2);
    const file = join(scratch, 'bad.bundle.json');
    writeFileSync(file, text);
    const expected = cliError(['validate', file]);
    assert.throws(() => new Planner(text), (e) => {
      assert.ok(e instanceof Error, what);
      assert.equal(e.message, expected, what);
      return true;
    });
    if (typeof bundle !== 'string') {
      // As an object: the same path (positions refer to the JSON text the object became).
      const path = expected.split(':')[0];
      assert.match(path, /^\$/, `${what}: ${expected}`);
      assert.throws(() => new Planner(bundle), (e) => e instanceof Error && e.message.startsWith(`${path}:`), what);
    }
  }
});

test('malformed specs throw the CLI error, naming the JSON path', () => {
  const spec = JSON.parse(read(join(EXAMPLES, 'app3.optiserve-spec.json')));
  const cases = [
    '[1, 2',
    { ...spec, functions: [{ id: 'a' }] },
    { ...spec, edges: [['Start', 'nobody', 1.0]] },
    { ...spec, functions: spec.functions.map((f, i) => (i === 0 ? { ...f, memory_grid: { start: 512, stop: 1024, step: 0 } } : f)) },
  ];
  for (const c of cases) {
    const text = typeof c === 'string' ? c : JSON.stringify(c);
    const file = join(scratch, 'bad.spec.json');
    writeFileSync(file, text);
    const expected = cliError(['import', 'optiserve-spec', file, '-o', join(scratch, 'never.json')]);
    assert.throws(() => importOptiserveSpec(text), (e) => e instanceof Error && e.message === expected, text);
  }
});

test('bad requests and values that are not JSON throw Errors; the planner keeps working', () => {
  const planner = new Planner(read(bundlePath('app3')));
  const cyclic = {};
  cyclic.self = cyclic;
  const cases = [
    [() => new Planner(), /^\$: expected a profile bundle \(an object or a JSON string\), found undefined/],
    [() => new Planner(null), /^\$: invalid type: null, expected a profile bundle/],
    [() => new Planner(42), /^\$\.schema|^\$: /],
    [() => new Planner(cyclic), /^\$: a profile bundle cannot be turned into JSON: Converting circular structure/],
    [() => new Planner({ n: 1n }), /^\$: a profile bundle cannot be turned into JSON/],
    [() => planner.optimize({ objective: 'fastest' }), /^\$\.objective: unknown variant `fastest`/],
    [() => planner.optimize({ objective: 'cost', constraints: { max_latency_ms: NaN } }), /^\$\.constraints\.max_latency_ms: must be a finite number, found NaN$/],
    [() => planner.optimize({ objective: 'cost', constraints: { min_accuracy: -Infinity } }), /^\$\.constraints\.min_accuracy: must be a finite number, found -Infinity$/],
    [() => planner.optimize('{"objective": "cost"'), /^invalid JSON at line 1/],
    [() => planner.whatIf({ objective: 'cost', vary: [] }), /^\$\.vary: give one or two constraints/],
    [() => planner.whatIf({ objective: 'cost', vary: [{ constraint: 'min_accuracy', from: 0, to: 1, steps: 20000 }] }), /^\$\.vary\[0\]\.steps: must be from 1 to 10000/],
    [() => planner.whatIf({ objective: 'cost', vary: [{ constraint: 'min_accuracy', from: 0, to: 1, steps: 10000 }, { constraint: 'max_latency_ms', from: 0, to: 1, steps: 10000 }] }), /^\$\.vary: the grid has 100000000 points/],
    [() => planner.evaluate({ resnet: { memory_mb: 'big' } }), /^\$\.resnet\.memory_mb: invalid type/],
    [() => planner.evaluate({ nobody: { memory_mb: 1024 } }), /^\$\.nobody/],
    [() => fitModel([]), /^\$: no samples/],
    [() => fitModel([{ memory_mb: 128, duration_ms: 10 }, { memory_mb: 0, duration_ms: 5 }]), /^\$\[1\]\.memory_mb: /],
    [() => fitModel({ memory_mb: 128 }), /^\$: invalid type: map, expected a sequence/],
    [() => fitModel([{ memory_mb: 128, duration_ms: 10 }], 'linear'), /^model: expected one of auto, exponential, cpu-share, table, found "linear"/],
    [() => importOptiserveSpec(undefined), /^\$: expected an optiserve workflow spec/],
  ];
  for (const [call, pattern] of cases) {
    assert.throws(call, (e) => {
      assert.ok(e instanceof Error, `${call}: not an Error: ${e}`);
      assert.match(e.message, pattern, String(call));
      return true;
    });
  }
  // Nothing above poisoned the module.
  assert.equal(planner.optimize({ objective: 'latency', constraints: { max_cost_usd_per_million: 800, min_accuracy: 1.8 } }).status, 'optimal');
  assert.equal(new Planner(read(bundlePath('media-pipeline'))).validate().functions, 8);
});

test('the package loads as ES module and as CommonJS in Node', () => {
  writeFileSync(join(project, 'esm.mjs'), `import { Planner } from 'optiserve';\nimport { readFileSync } from 'node:fs';\nconst p = new Planner(readFileSync(process.argv[2], 'utf8'));\nconsole.log(JSON.stringify(p.optimize({ objective: 'cost' })));\n`);
  writeFileSync(join(project, 'cjs.cjs'), `const { Planner } = require('optiserve');\nconst p = new Planner(require('node:fs').readFileSync(process.argv[2], 'utf8'));\nconsole.log(JSON.stringify(p.optimize({ objective: 'cost' })));\n`);
  const expected = withoutElapsed(cliJson(['optimize', bundlePath('app3'), '--objective', 'cost']));
  for (const script of ['esm.mjs', 'cjs.cjs']) {
    const r = spawnSync(process.execPath, [script, bundlePath('app3')], { cwd: project, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assertClose(withoutElapsed(JSON.parse(r.stdout)), expected, script);
  }
});
