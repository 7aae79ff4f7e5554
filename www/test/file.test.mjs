// The single-file build (www/dist-file/index.html, `npm run build:file`) opened straight from the
// disk (file://) in headless Chromium: no server, no request, the same plan as the CLI.
//
//   npm test          (builds both sites first)

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DIST_FILE, artifact, assertClose, bundlePath, cliJson, launchChromium, waitSettled, watchPage } from './helpers.mjs';

const INDEX = join(DIST_FILE, 'index.html');
let browser;
let page;
let errors;
const requests = [];

before(async () => {
  assert.ok(existsSync(INDEX), 'www/dist-file is missing: run `npm run build:file`');
  browser = await launchChromium();
  page = await (await browser.newContext({ viewport: { width: 1366, height: 900 } })).newPage();
  errors = watchPage(page);
  page.on('request', (r) => requests.push(r.url()));
});

after(async () => {
  await browser?.close();
});

async function open(hash = '') {
  await page.goto('about:blank');
  await page.goto(`${pathToFileURL(INDEX).href}${hash}`);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 30_000 });
  await waitSettled(page);
}

const solution = () => page.evaluate(() => window.optiserveWww.app.solution);

test('one self-contained file: scripts, styles, the WebAssembly planner and the examples inlined', () => {
  assert.deepEqual(readdirSync(DIST_FILE), ['index.html']);
  const html = readFileSync(INDEX, 'utf8');
  assert.doesNotMatch(html, /<script[^>]+src=/, 'no external script');
  assert.doesNotMatch(html, /<link[^>]+stylesheet/, 'no external stylesheet');
  // The inline script is allowed by its hash, not by a blanket 'unsafe-inline'.
  const csp = html.match(/http-equiv="Content-Security-Policy"\s+content="([^"]+)"/)[1];
  assert.match(csp, /script-src 'sha256-[A-Za-z0-9+/=]+' 'wasm-unsafe-eval'/);
  assert.doesNotMatch(csp, /script-src[^;]*'unsafe-inline'/);
});

test('opened from file://, the example plans as the CLI does', async () => {
  await open();
  assert.match(await page.textContent('#bundle-summary'), /app3 \(bundle\): 3 functions, 40,960 configurations/);
  const { elapsed_ms, ...s } = await solution();
  const { elapsed_ms: _, ...expected } = cliJson(['optimize', bundlePath('app3'), '--objective', 'latency']);
  assertClose(s, expected);
  for (const id of ['whatif-chart', 'pareto-chart', 'et-chart']) {
    const paths = await page.$$eval(`#${id} svg path`, (p) => p.length);
    assert.ok(paths > 20, `${id}: ${paths} paths`);
  }
  // The simulation panel runs the planner's Monte-Carlo simulation here too.
  assert.match(await page.textContent('#simulation-table'), /p95/);
  await page.screenshot({ path: artifact('file-app3.png'), fullPage: true });
});

test('from file://: another embedded example by link, and an upload by file picker', async () => {
  await open('#b=example:media-pipeline&o=cost');
  assert.match(await page.textContent('#bundle-summary'), /media-pipeline \(bundle\): 8 functions/);
  const { elapsed_ms, ...s } = await solution();
  const { elapsed_ms: _, ...expected } = cliJson(['optimize', bundlePath('media-pipeline'), '--objective', 'cost']);
  assertClose(s, expected);
  await page.setInputFiles('#file', bundlePath('six-functions'));
  await page.waitForFunction(() => window.optiserveWww.app?.name === 'six-functions.bundle.json');
  await waitSettled(page);
  assert.match(await page.textContent('#bundle-summary'), /six-functions \(bundle\): 6 functions/);
});

test('from file://: nothing is fetched, nothing goes wrong', () => {
  const fetched = requests.filter((u) => !u.startsWith('file:') && !u.startsWith('data:') && !u.startsWith('blob:') && u !== 'about:blank');
  assert.deepEqual(fetched, []);
  assert.deepEqual(errors, []);
});
