// Shared by the site's tests: paths, the native CLI, numeric comparison, headless Chromium.
// (The same approach as wasm/test/helpers.mjs: Debian's chromium driven by playwright-core.)

import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';

export const WWW = fileURLToPath(new URL('..', import.meta.url));
export const ROOT = resolve(WWW, '..');
export const DIST = join(WWW, 'dist');
export const DIST_FILE = join(WWW, 'dist-file');
export const EXAMPLES = join(ROOT, 'examples');
export const ARTIFACTS = join(WWW, 'test-artifacts');
export const bundlePath = (name) => join(EXAMPLES, `${name}.bundle.json`);
export const read = (path) => readFileSync(path, 'utf8');

const tempDirs = [];
// Removed when the test process exits, passed or failed; OPTISERVE_KEEP_TMP=1 keeps them to look at.
process.on('exit', () => {
  if (process.env.OPTISERVE_KEEP_TMP) return;
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
});

/** A fresh directory under the system's temp folder, removed when the test process exits. */
export function tempDir(prefix) {
  const dir = mkdtempSync(join(tmpdir(), `optiserve-www-${prefix}-`));
  tempDirs.push(dir);
  return dir;
}

export function artifact(name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  return join(ARTIFACTS, name);
}

let cliBuilt = false;
/**
 * Runs the native CLI; returns status, stdout, stderr. The binary is `$OPTISERVE_CLI` when set
 * (scripts/test-all.sh passes the one `cargo test` built), else `target/debug/optiserve`, built
 * here on first use.
 */
export function cli(args) {
  const exe = process.env.OPTISERVE_CLI || join(ROOT, 'target', 'debug', 'optiserve');
  if (!cliBuilt && !process.env.OPTISERVE_CLI) {
    execFileSync('cargo', ['build', '-q', '-p', 'optiserve-profiler', '--locked'], { cwd: ROOT, stdio: 'inherit' });
    cliBuilt = true;
  }
  const r = spawnSync(exe, args, { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 28 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The CLI's `--format json` output of a command that must succeed (exit 0, or those in allow). */
export function cliJson(args, { allow = [0] } = {}) {
  const r = cli([...args, '--format', 'json']);
  assert.ok(allow.includes(r.status), `optiserve ${args.join(' ')} exited ${r.status}:\n${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** The innermost message of a failed CLI command (`caused by: …`, else the `error: …` line). */
export function cliError(args) {
  const r = cli(args);
  assert.notEqual(r.status, 0, `optiserve ${args.join(' ')} should fail`);
  const lines = r.stderr.trim().split('\n');
  const cause = lines.filter((l) => l.trim().startsWith('caused by: ')).pop();
  return cause ? cause.trim().slice('caused by: '.length) : lines[0].replace(/^error: /, '');
}

/** Deep equality with numbers equal within 1e-9 relative (at least 1e-9 absolute). */
export function assertClose(actual, expected, path = '$') {
  if (typeof expected === 'number' && typeof actual === 'number') {
    const tol = 1e-9 * Math.max(1, Math.abs(expected), Math.abs(actual));
    assert.ok(Math.abs(actual - expected) <= tol, `${path}: ${actual} != ${expected}`);
    return;
  }
  if (expected === null || typeof expected !== 'object') {
    assert.equal(actual, expected, path);
    return;
  }
  assert.ok(actual !== null && typeof actual === 'object', `${path}: expected an object, found ${actual}`);
  assert.equal(Array.isArray(actual), Array.isArray(expected), `${path}: array vs object`);
  if (Array.isArray(expected)) {
    assert.equal(actual.length, expected.length, `${path}: length`);
    expected.forEach((e, i) => assertClose(actual[i], e, `${path}[${i}]`));
    return;
  }
  assert.deepEqual(Object.keys(actual).sort(), Object.keys(expected).sort(), `${path}: keys`);
  for (const k of Object.keys(expected)) assertClose(actual[k], expected[k], `${path}.${k}`);
}

/** Headless Debian Chromium through playwright-core, kept quiet on a closed network. */
export async function launchChromium() {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** Collects every error the page logs or throws (a test asserts the list is empty). */
export function watchPage(page) {
  const errors = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console.error: ${m.text()}`);
  });
  return errors;
}

const AXE_SOURCE = readFileSync(join(WWW, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');

/**
 * Runs axe-core (the npm package, injected through the DevTools protocol, which the page's
 * Content Security Policy does not apply to) on the whole page, every <details> opened first so
 * that the charts' data tables are checked too. Returns the violations, each with up to 5 nodes.
 */
export async function axeViolations(page, { openDetails = true } = {}) {
  if (openDetails) {
    await page.evaluate(() => document.querySelectorAll('details').forEach((d) => (d.open = true)));
    await page.waitForTimeout(50);
  }
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.evaluate(AXE_SOURCE);
  return page.evaluate(async () => {
    const result = await window.axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.slice(0, 5).map((n) => `${n.target.join(' ')}: ${n.failureSummary ?? ''}`),
    }));
  });
}

/** Opens `url` in `page` (a fresh document) and waits for the first plan. */
export async function openPage(page, url, { settled = false } = {}) {
  await page.goto('about:blank');
  await page.goto(url);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 30_000 });
  if (settled) await waitSettled(page);
}

/** Waits until every deferred chart, simulation and sweep of the page is done. */
export async function waitSettled(page) {
  await page.evaluate(() => window.optiserveWww.settled());
}

/** The page's state: the view, the plan, the source and the size of the front. */
export function pageState(page) {
  return page.evaluate(() => {
    const { app, view } = window.optiserveWww;
    return {
      view: JSON.parse(JSON.stringify(view)),
      solution: app?.solution ?? null,
      evaluation: app?.evaluation ?? null,
      source: app?.source ?? null,
      front: app?.front?.length ?? null,
    };
  });
}

/** The configuration table as `{id: {memory_mb, variant, change, invocations, duration_ms, cost, share}}`. */
export function configTable(page) {
  return page.$$eval('#config-table tbody tr', (rows) =>
    Object.fromEntries(
      rows.map((r) => {
        const f = (k) => r.querySelector(`[data-field="${k}"]`).textContent;
        return [
          f('function'),
          {
            memory_mb: Number(f('memory_mb')),
            variant: f('variant'),
            change: f('change'),
            invocations: Number(f('invocations')),
            duration_ms: Number(f('duration_ms')),
            cost: Number(f('cost_usd_per_million')),
            share: f('share'),
          },
        ];
      }),
    ),
  );
}

/** Types a limit into its number field and applies it (Enter). */
export async function typeLimit(page, constraint, value) {
  await page.fill(`#${constraint}-number`, String(value));
  await page.press(`#${constraint}-number`, 'Enter');
}

/** The median of numbers. */
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
