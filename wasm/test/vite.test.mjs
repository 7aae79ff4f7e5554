// A new user's Vite app, as the package README describes it: a fresh project with the tarball and
// vite@7 installed, `vite build`, and the built page shows a plan in headless Chromium (through
// the API and through the widget), equal to the native CLI's.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertClose, bundlePath, cliJson, freshProject, launchChromium, serve, watchPage, withoutElapsed } from './helpers.mjs';

const INDEX = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <link rel="icon" href="data:," />
    <title>Vite + optiserve</title>
  </head>
  <body>
    <pre id="plan">planning…</pre>
    <optiserve-planner id="widget" objective="latency" max-cost-usd-per-million="800" min-accuracy="1.8"></optiserve-planner>
    <script type="module" src="/main.js"></script>
  </body>
</html>
`;

const MAIN = `import { Planner } from 'optiserve';
import 'optiserve/widget';
import bundle from './app3.bundle.json';

const planner = new Planner(bundle);
const solution = planner.optimize({
  objective: 'latency',
  constraints: { max_cost_usd_per_million: 800, min_accuracy: 1.8 },
});
document.getElementById('plan').textContent = JSON.stringify(solution);
document.getElementById('widget').bundle = bundle;
`;

// As the README says: only `vite dev` needs it (its dependency pre-bundling would move the module
// away from its .wasm).
const CONFIG = `export default { optimizeDeps: { exclude: ['optiserve'] } };
`;

const EXPECTED = () =>
  withoutElapsed(
    cliJson(['optimize', bundlePath('app3'), '--objective', 'latency', '--max-cost-usd-per-million', '800', '--min-accuracy', '1.8']),
  );

/** Opens `url`, waits for the plan and the widget, and compares both with the CLI. */
async function checkPage(url) {
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    const errors = watchPage(page);
    await page.goto(url);
    await page.waitForFunction(() => document.getElementById('plan').textContent.startsWith('{'));
    const solution = JSON.parse(await page.locator('#plan').textContent());
    const expected = EXPECTED();
    assertClose(withoutElapsed(solution), expected);
    await page.locator('#widget tbody tr').first().waitFor();
    const widgetConfig = await page.locator('#widget').evaluate((el) => el.solution.config);
    assertClose(widgetConfig, expected.config);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
}

let project;

test('a Vite app built with the package shows a plan', async () => {
  project = freshProject('vite', ['vite@7.3.8'], { type: 'module', scripts: { build: 'vite build', dev: 'vite' } });
  writeFileSync(join(project, 'index.html'), INDEX);
  writeFileSync(join(project, 'main.js'), MAIN);
  writeFileSync(join(project, 'vite.config.js'), CONFIG);
  copyFileSync(bundlePath('app3'), join(project, 'app3.bundle.json'));
  const build = spawnSync('npm', ['run', 'build'], { cwd: project, encoding: 'utf8' });
  assert.equal(build.status, 0, `vite build:\n${build.stdout}\n${build.stderr}`);
  const assets = readdirSync(join(project, 'dist', 'assets'));
  assert.ok(assets.some((f) => f.endsWith('.wasm')), `the wasm is emitted: ${assets}`);

  const server = await serve(join(project, 'dist'));
  try {
    await checkPage(`${server.url}/`);
  } finally {
    await server.close();
  }
});

test('the same app works under `vite dev`', async () => {
  const dev = spawn(process.execPath, ['node_modules/vite/bin/vite.js', '--host', '127.0.0.1', '--port', '0'], {
    cwd: project,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
  });
  try {
    const url = await new Promise((ok, fail) => {
      let out = '';
      const timer = setTimeout(() => fail(new Error(`vite dev did not start:\n${out}`)), 30_000);
      dev.stdout.on('data', (d) => {
        out += d;
        const m = out.match(/Local:\s+(http:\/\/127\.0\.0\.1:\d+\/)/);
        if (m) {
          clearTimeout(timer);
          ok(m[1]);
        }
      });
      dev.stderr.on('data', (d) => (out += d));
      dev.on('exit', (code) => fail(new Error(`vite dev exited ${code}:\n${out}`)));
    });
    await checkPage(url);
  } finally {
    dev.kill();
  }
});
