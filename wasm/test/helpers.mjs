// Shared by the JS tests: the packed tarball installed into a fresh project, the native CLI, a
// numeric comparison, a static file server and headless Chromium.

import { execFileSync, spawnSync } from 'node:child_process';
import { createReadStream, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';

export const WASM_DIR = fileURLToPath(new URL('..', import.meta.url));
export const ROOT = resolve(WASM_DIR, '..');
export const EXAMPLES = join(ROOT, 'examples');
export const BUNDLES = ['app3', 'media-pipeline', 'six-functions'];
export const bundlePath = (name) => join(EXAMPLES, `${name}.bundle.json`);

/** The tarball `scripts/build-wasm.sh` packed. */
export function tarball() {
  const dist = join(WASM_DIR, 'dist');
  const found = existsSync(dist) ? readdirSync(dist).filter((f) => /^optiserve-.*\.tgz$/.test(f)) : [];
  assert.equal(found.length, 1, `expected one optiserve-*.tgz in ${dist}: run scripts/build-wasm.sh first`);
  return join(dist, found[0]);
}

const tempDirs = [];
// Removed when the test process exits, passed or failed; OPTISERVE_KEEP_TMP=1 keeps them to look at.
process.on('exit', () => {
  if (process.env.OPTISERVE_KEEP_TMP) return;
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
});

/** A fresh directory under the system's temp folder, removed when the test process exits. */
export function tempDir(prefix) {
  const dir = mkdtempSync(join(tmpdir(), `optiserve-${prefix}-`));
  tempDirs.push(dir);
  return dir;
}

function npm(args, cwd) {
  const r = spawnSync('npm', args, { cwd, encoding: 'utf8' });
  assert.equal(r.status, 0, `npm ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
}

/**
 * A fresh project (`npm init`) with the packed tarball installed, as a user would do it; extra
 * packages (e.g. `vite@7.3.8`) are installed alongside. Returns the project directory.
 */
export function freshProject(prefix, extra = [], packageJson = {}) {
  const dir = tempDir(prefix);
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name: `optiserve-${prefix}-test`, private: true, version: '0.0.0', ...packageJson }, null, 2),
  );
  const offline = extra.length === 0 ? ['--offline'] : ['--prefer-offline'];
  npm(['install', '--no-audit', '--no-fund', ...offline, tarball(), ...extra], dir);
  return dir;
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

/** The CLI's `--format json` output of a command that must succeed (exit 0, or 2 = infeasible). */
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

/**
 * Deep equality with numbers equal within 1e-9 (relative to their magnitude, at least 1e-9
 * absolute); the same keys everywhere.
 */
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
  assert.equal(Array.isArray(actual), Array.isArray(expected), `${path}: array vs object`);
  assert.ok(actual !== null && typeof actual === 'object', `${path}: expected an object, found ${actual}`);
  if (Array.isArray(expected)) {
    assert.equal(actual.length, expected.length, `${path}: length`);
    expected.forEach((e, i) => assertClose(actual[i], e, `${path}[${i}]`));
    return;
  }
  assert.deepEqual(Object.keys(actual).sort(), Object.keys(expected).sort(), `${path}: keys`);
  for (const k of Object.keys(expected)) assertClose(actual[k], expected[k], `${path}.${k}`);
}

export function withoutElapsed(solution) {
  const { elapsed_ms, ...rest } = solution;
  return rest;
}

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.css': 'text/css',
  '.svg': 'image/svg+xml',
};

/** A static file server for `root` on 127.0.0.1 (a free port); `await server.close()` stops it. */
export async function serve(root) {
  const base = resolve(root);
  const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://localhost');
    let file = normalize(join(base, decodeURIComponent(url.pathname)));
    if (file !== base && !file.startsWith(base + sep)) {
      res.writeHead(403).end();
      return;
    }
    if (existsSync(file) && statSync(file).isDirectory()) file = join(file, 'index.html');
    if (!existsSync(file)) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
    createReadStream(file).pipe(res);
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    close: () => new Promise((ok) => server.close(ok)),
  };
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

/** Fails the test on any error the page logs or throws. */
export function watchPage(page) {
  const errors = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console.error: ${m.text()}`);
  });
  return errors;
}

export const read = (path) => readFileSync(path, 'utf8');
