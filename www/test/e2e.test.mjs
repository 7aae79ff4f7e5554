// End to end in headless Chromium (Debian's, through playwright-core): the built site (www/dist)
// served from a local static server, compared with the native CLI on the example bundles.
//
//   npm test          (builds the site first; screenshots go to www/test-artifacts/)

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { serveStatic } from './static-server.mjs';
import {
  DIST, EXAMPLES, ROOT, artifact, assertClose, axeViolations, bundlePath, cli, cliError, cliJson, configTable, launchChromium, pageState, read, tempDir,
  typeLimit, waitSettled, watchPage,
} from './helpers.mjs';

const scratch = tempDir('e2e');
let server;
let browser;
let context;
let page;
let errors;

before(async () => {
  assert.ok(existsSync(join(DIST, 'index.html')), 'www/dist is missing: run `npm run build`');
  server = await serveStatic(DIST);
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1366, height: 900 }, acceptDownloads: true });
  page = await context.newPage();
  errors = watchPage(page);
  page.on('request', (r) => {
    const url = r.url();
    if (!url.startsWith(server.url) && !url.startsWith('blob:') && !url.startsWith('data:')) errors.push(`request to another origin: ${url}`);
  });
  await open(`${server.url}/`);
});

/** Waits until the deferred charts and simulations follow the last change. */
const settle = (p = page) => waitSettled(p);

after(async () => {
  await browser?.close();
  await server?.close();
});

async function open(url, p = page) {
  // A fresh document each time (a new fragment alone would be a same-document navigation).
  await p.goto('about:blank');
  await p.goto(url);
  await p.waitForSelector('body[data-ready="true"]', { timeout: 30_000 });
  await waitSettled(p);
}

const state = (p = page) => pageState(p);
const table = (p = page) => configTable(p);

async function setLimit(constraint, value) {
  await typeLimit(page, constraint, value);
}

async function clearLimits() {
  for (const c of ['max_latency_ms', 'max_cost_usd_per_million', 'min_accuracy']) await typeLimit(page, c, '');
}


const flags = (limits) => Object.entries(limits).flatMap(([k, v]) => (v === null ? [] : [`--${k.replaceAll('_', '-')}`, String(v)]));

/** The page's table equals the CLI's optimize + evaluate of the same problem. */
async function assertMatchesCli(bundle, objective, limits) {
  const file = bundlePath(bundle);
  const expected = cliJson(['optimize', file, '--objective', objective, ...flags(limits)], { allow: [0, 2] });
  const s = await state();
  assert.equal(s.solution.status, expected.status);
  const { elapsed_ms, ...solution } = s.solution;
  const { elapsed_ms: _, ...cliSolution } = expected;
  assertClose(solution, cliSolution);
  if (!expected.config) return expected;
  const configFile = join(scratch, `${bundle}-${objective}.json`);
  writeFileSync(configFile, JSON.stringify(expected));
  const evaluation = cliJson(['evaluate', file, '--config', configFile]);
  const rows = await table();
  assert.deepEqual(Object.keys(rows), Object.keys(evaluation.functions));
  for (const [id, f] of Object.entries(evaluation.functions)) {
    assert.equal(rows[id].memory_mb, f.memory_mb, `${id} memory`);
    assert.equal(rows[id].variant, f.variant, `${id} variant`);
    assert.equal(rows[id].invocations, Number(f.invocations.toFixed(4)), `${id} NI`);
    assert.equal(rows[id].duration_ms, Number(f.duration_ms.toFixed(2)), `${id} duration`);
    assert.equal(rows[id].cost, Number(f.cost_usd_per_million.toFixed(4)), `${id} cost`);
  }
  assertClose(s.evaluation, evaluation);
  return expected;
}

test('the example loads with its workflow, plan and the three charts', async () => {
  assert.match(await page.textContent('#bundle-summary'), /app3 \(bundle\): 3 functions, 40,960 configurations/);
  assert.equal(await page.textContent('#structure'), cliJson(['validate', bundlePath('app3')]).structure);
  // No limits: the fastest configuration.
  await assertMatchesCli('app3', 'latency', {});
  // The diagram (drawn after the plan): every function with its memory and variant, the cycle
  // box, the self-loop.
  await settle();
  const s = await state();
  for (const [id, f] of Object.entries(s.evaluation.functions)) {
    const text = await page.textContent(`#diagram [data-function="${id}"]`);
    assert.ok(text.includes(`${f.memory_mb} MB · ${f.variant}`), `${id}: ${text}`);
  }
  assert.match(await page.textContent('#diagram .cluster.loop'), /cycle ×1\.43 runs/);
  assert.match(await page.textContent('#diagram .edge.self'), /0\.2 ↺/);
  assert.match(await page.textContent('#diagram'), /0\.3 ↺/);
  // The charts are drawn (ECharts' SVG renderer): series paths, and the numbers behind them.
  await settle();
  for (const id of ['whatif-chart', 'pareto-chart', 'et-chart', 'memory-chart']) {
    const paths = await page.$$eval(`#${id} svg path`, (p) => p.length);
    assert.ok(paths > 20, `${id}: ${paths} paths`);
  }
  assert.equal((await state()).front, cliJson(['pareto', bundlePath('app3')]).length);
  assert.equal(await page.getAttribute('#whatif-chart', 'data-points'), '100');
  await page.screenshot({ path: artifact('app3-laptop.png'), fullPage: true });
});

test('moving a constraint with the keyboard replans live, as the CLI does', async () => {
  await page.selectOption('#objective', 'latency');
  await setLimit('min_accuracy', 1.8);
  await setLimit('max_cost_usd_per_million', 800);
  const expected = await assertMatchesCli('app3', 'latency', { max_cost_usd_per_million: 800, min_accuracy: 1.8 });
  assert.equal(expected.status, 'optimal');
  assert.equal(await page.textContent('#status'), 'optimal');
  // The README's example: 5097.46 ms, $766.2938 per million.
  assert.equal(await page.textContent('#m-latency'), '5,097.46 ms');
  assert.match(await page.textContent('#m-cost'), /^\$766\.2938 per million/);
  // Move the cost slider down with the arrow keys: each press is one step of the slider.
  await page.focus('#max_cost_usd_per_million-range');
  for (let i = 0; i < 5; i++) await page.keyboard.press('ArrowLeft');
  const moved = (await state()).view.limits.max_cost_usd_per_million;
  assert.ok(moved < 800, `the slider moved to ${moved}`);
  assert.equal(Number(await page.inputValue('#max_cost_usd_per_million-number')), moved);
  await assertMatchesCli('app3', 'latency', { max_cost_usd_per_million: moved, min_accuracy: 1.8 });
  // And the objective, by keyboard too.
  await page.focus('#objective');
  await page.keyboard.press('ArrowDown'); // → cost
  assert.equal((await state()).view.objective, 'cost');
  await assertMatchesCli('app3', 'cost', { max_cost_usd_per_million: moved, min_accuracy: 1.8 });
});

test('an infeasible problem says what cannot be met and what can be reached', async () => {
  await page.selectOption('#objective', 'latency');
  await clearLimits();
  await setLimit('max_cost_usd_per_million', 400);
  await setLimit('min_accuracy', 2);
  const expected = await assertMatchesCli('app3', 'latency', { max_cost_usd_per_million: 400, min_accuracy: 2 });
  assert.equal(expected.status, 'infeasible');
  assert.equal(await page.textContent('#status'), 'infeasible');
  const why = await page.textContent('#why-text');
  const reach = expected.infeasible.best_reachable.toLocaleString('en-US', { maximumFractionDigits: 4, minimumFractionDigits: 4 });
  assert.ok(why.includes('max cost = $400.0000 per million executions cannot be met'), why);
  assert.ok(why.includes(`$${reach}`), `${why} should name ${reach}`);
  assert.equal(await page.$$eval('#config-table tbody tr', (r) => r.length), 0);
  assert.ok(await page.isDisabled('#download'));
  await page.screenshot({ path: artifact('app3-infeasible.png') });
  // One click relaxes the limit to what can be reached.
  await page.click('#relax');
  assert.equal((await state()).solution.status, 'optimal');
  await clearLimits();
});

test('the Pareto front: a click picks a point, the keyboard too, and the link reproduces the view', async () => {
  await page.selectOption('#objective', 'cost');
  await setLimit('max_latency_ms', 9000);
  // Click the 11th point of the front where ECharts drew it.
  const index = 10;
  await settle();
  const pixel = await page.evaluate(async (i) => {
    const p = window.optiserveWww.app.front[i];
    const charts = await window.optiserveWww.charts;
    return charts.pareto.instance.convertToPixel({ seriesId: 'front' }, [p.latency_ms, p.cost_usd_per_million]);
  }, index);
  await page.locator('#pareto-chart').scrollIntoViewIfNeeded();
  const box = await page.locator('#pareto-chart').boundingBox();
  await page.mouse.click(box.x + pixel[0], box.y + pixel[1]);
  let s = await state();
  const front = cliJson(['pareto', bundlePath('app3')]);
  assert.ok(s.view.pick, 'a click on a point selects it');
  const picked = front.findIndex((p) => JSON.stringify(p.config) === JSON.stringify(
    Object.fromEntries(Object.entries(s.view.pick).map(([k, v]) => [k, { memory_mb: v.memory_mb, variant: v.variant }]))));
  assert.ok(picked >= 0, 'the picked configuration is on the CLI front');
  // Points overlap at this scale: the picked one is drawn where the click was (symbol radius
  // 3.5 px, its outline and ECharts' hit margin).
  const drawnAt = await page.evaluate(async (p) => (await window.optiserveWww.charts).pareto.instance.convertToPixel({ seriesId: 'front' }, [p.latency_ms, p.cost_usd_per_million]), front[picked]);
  assert.ok(Math.hypot(drawnAt[0] - pixel[0], drawnAt[1] - pixel[1]) <= 5, `picked ${drawnAt}, clicked ${pixel}`);
  assertClose(s.evaluation.latency_ms, front[picked].latency_ms);
  assertClose(s.evaluation.cost_usd_per_million, front[picked].cost_usd_per_million);
  assert.match(await page.textContent('#config-source'), /picked on the Pareto front/);
  // The keyboard way: a point by number.
  await page.fill('#pareto-index', '25');
  await page.press('#pareto-index', 'Tab');
  await page.keyboard.press('Enter'); // the "Use this point" button has the focus
  await page.waitForFunction(() => document.activeElement?.id === 'pick-detail');
  s = await state();
  assertClose(s.evaluation.latency_ms, front[24].latency_ms);
  await page.screenshot({ path: artifact('app3-pareto-pick.png'), fullPage: true });

  // The URL holds the view: a new tab with the same link shows the same thing.
  await page.waitForFunction(() => location.hash.includes('pick='));
  await settle();
  const link = page.url();
  const other = await context.newPage();
  const otherErrors = watchPage(other);
  await open(link, other);
  const a = await state();
  const b = await state(other);
  assert.deepEqual(b.view, a.view);
  assertClose(b.evaluation, a.evaluation);
  assert.deepEqual(await table(other), await table());
  assert.equal(await other.inputValue('#max_latency_ms-number'), '9000');
  assert.equal(await other.inputValue('#objective'), 'cost');
  assert.deepEqual(otherErrors, []);
  await other.close();
  await page.click('#back-to-recommendation');
  assert.equal((await state()).view.pick, null);
});

test('the download is the configuration `optiserve evaluate --config` reads, with the same numbers', async () => {
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
  assert.equal(download.suggestedFilename(), 'app3.config.json');
  const file = join(scratch, 'downloaded.json');
  await download.saveAs(file);
  const config = JSON.parse(readFileSync(file, 'utf8'));
  const s = await state();
  assert.deepEqual(Object.keys(config), Object.keys(s.evaluation.functions));
  for (const c of Object.values(config)) assert.deepEqual(Object.keys(c).sort(), ['memory_mb', 'variant']);
  assertClose(cliJson(['evaluate', bundlePath('app3'), '--config', file]), s.evaluation);
});

test('upload by file picker: the media pipeline, its diagram blocks and its duration curves', async () => {
  await page.setInputFiles('#file', bundlePath('media-pipeline'));
  await page.waitForFunction(() => window.optiserveWww.app?.name === 'media-pipeline.bundle.json');
  await settle();
  assert.match(await page.textContent('#bundle-summary'), /media-pipeline \(bundle\): 8 functions/);
  // Small enough to travel in the link itself (compressed).
  assert.ok((await state()).source.startsWith('z:'));
  assert.equal(await page.$$eval('#diagram [data-function]', (n) => n.length), 8);
  assert.match(await page.textContent('#diagram .cluster.parallel'), /parallel/);
  assert.match(await page.textContent('#diagram .cluster.loop'), /cycle ×1\.25 runs/);
  assert.match(await page.textContent('#diagram .edge.self'), /0\.1 ↺/);
  const labels = await page.$$eval('#diagram .edge-label', (n) => n.map((x) => x.textContent));
  for (const l of ['0.6', '0.4', '‖', '0.2 ↺']) assert.ok(labels.includes(l), `${l} in ${labels}`);
  // The structure tree behind the boxes is the one the CLI prints.
  const tree = await page.evaluate(() => window.optiserveWww.app.planner.structure());
  assert.equal(tree.items[0].body.items[1].kind, 'parallel');
  assert.equal(await page.textContent('#structure'), cliJson(['validate', bundlePath('media-pipeline')]).structure);
  // Recommendation as the CLI.
  await page.selectOption('#objective', 'latency');
  await setLimit('max_cost_usd_per_million', 400);
  await assertMatchesCli('media-pipeline', 'latency', { max_cost_usd_per_million: 400 });
  // ET(m): a function with variants and profiled samples; the curve is the bundle's model.
  await page.selectOption('#et-function', 'classify');
  const bundle = JSON.parse(read(bundlePath('media-pipeline')));
  const classify = bundle.functions.find((f) => f.id === 'classify');
  await settle();
  const info = await page.textContent('#et-legend');
  for (const v of classify.variants) {
    assert.ok(info.includes(`${v.name} (α+β·e^(−γm); MAPE ${v.fit.mape_percent.toFixed(2)}%`), `${v.name} in ${info}`);
  }
  const curves = await page.evaluate(() => window.optiserveWww.app.curves.get('classify').variants);
  const m = classify.variants[1].model;
  for (const [mem, et] of curves[1].curve) assertClose(et, m.alpha_ms + m.beta_ms * Math.exp(-m.gamma_per_mb * mem));
  assert.equal(curves[1].warm.length + curves[1].cold.length, classify.variants[1].samples.length);
  const scatter = await page.$$eval('#et-chart svg path', (p) => p.length);
  assert.ok(scatter > classify.variants[1].samples.length, `samples drawn: ${scatter} paths`);
  const front = await page.textContent('#pareto-info');
  assert.match(front, /points of the front, sampled by 400 exact optimizations/);
  await page.screenshot({ path: artifact('media-pipeline-laptop.png'), fullPage: true });
});

test('a CPU-share model: its curve, its family in the legend and its knee on the ET(m) chart', async () => {
  const bundle = JSON.parse(read(bundlePath('media-pipeline')));
  const classify = bundle.functions.find((f) => f.id === 'classify');
  // ML inference uses several threads: a knee at 4 GB, then half the work keeps scaling.
  const model = { kind: 'cpu_share', serial_ms: 300, cpu_ms: 2000, knee_mb: 4096, parallel_fraction: 0.5 };
  classify.variants[1].model = model;
  const file = join(scratch, 'cpu-share.bundle.json');
  writeFileSync(file, JSON.stringify(bundle));
  await page.setInputFiles('#file', file);
  await page.waitForFunction(() => window.optiserveWww.app?.name === 'cpu-share.bundle.json');
  await settle();
  await page.selectOption('#et-function', 'classify');
  await settle();
  const info = await page.textContent('#et-legend');
  assert.ok(info.includes(`${classify.variants[1].name} (CPU share, knee 4096 MB, multi-thread 0.50`), info);
  const curves = await page.evaluate(() => window.optiserveWww.app.curves.get('classify').variants);
  assert.equal(curves[1].knee, 4096);
  assert.equal(curves[0].knee, null);
  for (const [mem, et] of curves[1].curve)
    assertClose(et, model.serial_ms + model.cpu_ms * 1769 * (0.5 / Math.min(mem, model.knee_mb) + 0.5 / mem));
  const labels = await page.$$eval('#et-chart svg text', (t) => t.map((x) => x.textContent));
  assert.ok(labels.includes('knee 4096 MB'), labels.join(' | '));
  await page.screenshot({ path: artifact('cpu-share-et-chart.png'), fullPage: true });
});

test('a malformed bundle shows the JSON path and keeps the previous state', async () => {
  const before = await state();
  const beforeTable = await table();
  const broken = JSON.parse(read(bundlePath('media-pipeline')));
  broken.workflow.edges[6].probability = 0.3; // merge → caption: the branch now sums to 0.9
  const file = join(scratch, 'broken.bundle.json');
  writeFileSync(file, JSON.stringify(broken, null, 2));
  const expected = cliError(['validate', file]);
  assert.match(expected, /^\$\.workflow\.edges\[\d+\]: the branch out of 'merge' sums to 0\.9/);
  await page.setInputFiles('#file', file);
  await page.waitForSelector('#load-error:not([hidden])');
  assert.equal(await page.textContent('#load-error'), `broken.bundle.json: ${expected}`);
  await page.screenshot({ path: artifact('malformed-bundle.png') });
  const afterState = await state();
  assert.equal(afterState.source, before.source);
  assert.deepEqual(afterState.view, before.view);
  assert.deepEqual(await table(), beforeTable);
  // Not JSON at all: the line and column.
  const notJson = join(scratch, 'not-json.json');
  writeFileSync(notJson, '{\n  "schema": "optiserve.bundle/v1",\n  "functions": [,]\n}\n');
  await page.setInputFiles('#file', notJson);
  await page.waitForFunction(() => document.querySelector('#load-error').textContent.startsWith('not-json.json'));
  assert.match(await page.textContent('#load-error'), /^not-json\.json: invalid JSON at line 3, column \d+/);
  assert.equal((await state()).source, before.source);
});

test('drag and drop: the artifact workflow spec is imported', async () => {
  const text = read(join(EXAMPLES, 'app3.optiserve-spec.json'));
  const transfer = await page.evaluateHandle((t) => {
    const dt = new DataTransfer();
    dt.items.add(new File([t], 'app3.optiserve-spec.json', { type: 'application/json' }));
    return dt;
  }, text);
  await page.dispatchEvent('#plan', 'dragenter', { dataTransfer: transfer });
  assert.ok(await page.$eval('#drop-zone', (z) => z.classList.contains('dragging')));
  await page.dispatchEvent('#plan', 'drop', { dataTransfer: transfer });
  await page.waitForFunction(() => window.optiserveWww.app?.name === 'app3.optiserve-spec.json');
  await settle();
  assert.match(await page.textContent('#bundle-summary'), /app3 \(workflow spec, imported\): 3 functions, 40,960 configurations/);
  assert.ok(await page.isHidden('#load-error'));
  // The imported spec plans exactly as the committed bundle imported from it.
  await page.selectOption('#objective', 'latency');
  await clearLimits();
  await setLimit('max_cost_usd_per_million', 800);
  await setLimit('min_accuracy', 1.8);
  await assertMatchesCli('app3', 'latency', { max_cost_usd_per_million: 800, min_accuracy: 1.8 });
});

test('the latency distribution of the configuration on screen is `optiserve simulate --seed 1`', async () => {
  await open(`${server.url}/#b=example:app3&o=latency`);
  await setLimit('max_cost_usd_per_million', 800);
  await setLimit('min_accuracy', 1.8);
  await settle();
  const s = await state();
  assert.equal(s.solution.status, 'optimal');
  assert.ok(await page.isVisible('#simulation'));
  const configFile = join(scratch, 'simulated-config.json');
  writeFileSync(configFile, JSON.stringify(s.solution));
  const expected = cliJson(['simulate', bundlePath('app3'), '--config', configFile, '--runs', '100000', '--seed', '1']);
  const got = await page.evaluate(() => window.optiserveWww.app.simulation);
  // The same seed gives the same executions in the browser as natively, to the last bit.
  assert.deepEqual(got, expected);
  const row = async (stat) => page.$$eval(`#simulation-table tr[data-stat="${stat}"] td`, (c) => c.map((x) => x.textContent));
  const ms = (x) => `${x.toLocaleString('en-US', { maximumFractionDigits: 2, minimumFractionDigits: 2 })} ms`;
  assert.equal((await row('p95'))[0], ms(expected.p95_ms));
  assert.equal((await row('mean'))[0], ms(expected.mean_ms));
  assert.match((await row('mean'))[1], /analytic model 5,097\.46 ms/);
  assert.match(await page.textContent('#simulation-table caption'), /100,000 simulated executions, seed 1/);
  // The p95 in the plan's results, the mean under it.
  assert.equal(await page.textContent('#m-p95'), ms(expected.p95_ms));
  assert.equal(await page.textContent('#m-p95-note'), `mean ${ms(expected.mean_ms)} over 100,000 simulated executions`);
  // The histogram is drawn: one bar per non-empty bin, the mean/p95/p99 lines.
  const bars = await page.$$eval('#simulation-chart svg path', (p) => p.length);
  const nonEmpty = expected.histogram.filter((b) => b.count > 0).length;
  assert.ok(bars >= nonEmpty, `${bars} paths for ${nonEmpty} non-empty bins`);
  assert.match(await page.textContent('#simulation-chart'), /p95/);
  await page.locator('#simulation').screenshot({ path: artifact('app3-simulation.png') });
  // Another configuration, another distribution.
  await clearLimits();
  await settle();
  const fastest = await page.evaluate(() => window.optiserveWww.app.simulation);
  assert.ok(fastest.mean_ms < got.mean_ms, `${fastest.mean_ms} < ${got.mean_ms}`);
});

test('measured and assumed branch probabilities are told apart (Step Functions import, then measure)', async () => {
  const imported = join(scratch, 'media-imported.bundle.json');
  const measured = join(scratch, 'media-measured.bundle.json');
  const run = (args) => {
    const r = cli(args);
    assert.equal(r.status, 0, `optiserve ${args.join(' ')}: ${r.stderr}`);
  };
  run(['workflow', 'import-asl', join(EXAMPLES, 'media-pipeline.asl.json'), '--functions-from', bundlePath('media-pipeline'), '-o', imported]);
  run(['workflow', 'measure', '--from-history', join(ROOT, 'tests', 'fixtures', 'sfn'), '--bundle', imported, '-o', measured]);

  await page.setInputFiles('#file', imported);
  await page.waitForFunction(() => window.optiserveWww.app?.name === 'media-imported.bundle.json');
  await settle();
  assert.match(await page.textContent('#probability-basis'), /^Branch and loop probabilities: 6 assumed, not measured yet/);
  assert.equal(await page.$$eval('#diagram .edge.assumed', (n) => n.length), 6);
  assert.equal(await page.$$eval('#diagram .edge.measured', (n) => n.length), 0);
  assert.match(await page.textContent('#diagram .edge.assumed title'), /p = 0\.5, assumed \(not measured yet\)$/);

  await page.setInputFiles('#file', measured);
  await page.waitForFunction(() => window.optiserveWww.app?.name === 'media-measured.bundle.json');
  await settle();
  assert.equal(await page.textContent('#probability-basis'), 'Branch and loop probabilities: 6 measured from 10 executions (thick edges).');
  assert.equal(await page.$$eval('#diagram .edge.measured', (n) => n.length), 6);
  assert.equal(await page.$$eval('#diagram .edge.assumed', (n) => n.length), 0);
  const titles = await page.$$eval('#diagram .edge.measured title', (n) => n.map((t) => t.textContent));
  assert.ok(titles.includes('merge → detect: p = 0.6667, measured (taken 8 of 12 departures in 10 executions)'), titles.join('\n'));
  await page.locator('#workflow').screenshot({ path: artifact('media-measured-workflow.png') });

  // A bundle whose edges carry no basis: the probabilities are the author's.
  await open(`${server.url}/#b=example:media-pipeline`);
  assert.equal(await page.textContent('#probability-basis'), 'Branch and loop probabilities: 6 given by the bundle.');
});

test('Step Functions states and Map blocks are drawn', async () => {
  const bundle = JSON.parse(read(bundlePath('app3')));
  bundle.name = 'app3-map';
  bundle.workflow = {
    edges: [
      { from: 'Start', to: 'f1', probability: 1 },
      { from: 'f1', to: 'Pause', probability: 1 },
      { from: 'Pause', to: 'EachImage', probability: 1 },
      { from: 'EachImage', to: 'resnet', probability: 1 },
      { from: 'resnet', to: 'yolo', probability: 1 },
      { from: 'yolo', to: 'End', probability: 1 },
    ],
    states: [
      { id: 'Pause', kind: 'wait', delay_ms: 250 },
      { id: 'EachImage', kind: 'map', delay_ms: 0 },
    ],
    maps: [{ state: 'EachImage', body: ['resnet'], items: 8, max_concurrency: 3 }],
  };
  const file = join(scratch, 'app3-map.bundle.json');
  writeFileSync(file, JSON.stringify(bundle));
  await page.setInputFiles('#file', file);
  await page.waitForFunction(() => window.optiserveWww.app?.name === 'app3-map.bundle.json');
  await settle();
  assert.ok(await page.isHidden('#load-error'));
  assert.equal(await page.textContent('#structure'), cliJson(['validate', file]).structure);
  assert.equal(await page.textContent('#diagram [data-state="Pause"]'), 'Pausewait state · 250 ms');
  assert.equal(await page.textContent('#diagram [data-state="EachImage"]'), 'EachImagemap state');
  assert.equal(await page.textContent('#diagram .cluster.map .cluster-label'), 'map ×8 items, 3 at a time');
  assert.equal(await page.$$eval('#diagram [data-function]', (n) => n.length), 3);
  // The plan and the simulation see the Map: resnet runs 8 times per execution.
  await page.selectOption('#objective', 'cost');
  const s = await state();
  assert.equal(s.evaluation.functions.resnet.invocations, 8);
  await page.locator('#workflow').screenshot({ path: artifact('map-workflow.png') });
});

test('imported state machines: service states by service, a function reused at two sites, a Distributed Map', async () => {
  /** The visible text lines of a diagram node (its tooltip left out). */
  const labels = (sel) => page.$eval(sel, (g) => [...g.querySelectorAll('text')].map((t) => t.textContent).join(' | '));
  const run = (args) => {
    const r = cli(args);
    assert.equal(r.status, 0, `optiserve ${args.join(' ')}: ${r.stderr}`);
  };
  // Service integrations (DynamoDB, MediaConvert, SNS), a callback, the publish function twice.
  const services = join(scratch, 'media-services.bundle.json');
  run(['workflow', 'import-asl', join(ROOT, 'tests', 'fixtures', 'sfn-sim', 'media-services.asl.json'), '--functions-from', bundlePath('media-pipeline'), '-o', services]);
  await page.setInputFiles('#file', services);
  await page.waitForFunction(() => window.optiserveWww.app?.name === 'media-services.bundle.json');
  await settle();
  assert.ok(await page.isHidden('#load-error'));
  assert.equal(await page.textContent('#structure'), cliJson(['validate', services]).structure);
  assert.equal(await labels('#diagram [data-state="Notify"]'), 'Notify | sns:publish');
  assert.equal(await page.textContent('#diagram [data-state="Notify"] title'), 'Notify: arn:aws:states:::sns:publish, $5e-7 per request');
  assert.equal(await labels('#diagram [data-state="Save Upload"]'), 'Save Upload | dynamodb:putItem');
  assert.equal(await labels('#diagram [data-state="Start Transcode"]'), 'Start Transcode | mediaconvert:createJob');
  assert.equal(await page.$$eval('#diagram .state.service', (n) => n.length), 4);
  assert.equal(await labels('#diagram [data-state="Human Review (callback)"]'), 'Human Review (callback) | callback wait');
  assert.equal(await labels('#diagram [data-state="Wait For Transcode"]'), 'Wait For Transcode | wait state · 2000 ms');
  // publish: its own node and its second site, both with its one memory and variant.
  const publish = (await state()).evaluation.functions.publish;
  const own = await labels('#diagram .function.reused[data-function="publish"]');
  const site = await labels('#diagram .function.site[data-site="Publish Final"]');
  assert.equal(own, `publish | ${publish.memory_mb} MB · ${publish.variant} | NI ${publish.invocations.toFixed(3)} · 2 sites`);
  assert.equal(site, `publish | ${publish.memory_mb} MB · ${publish.variant} | site Publish Final`);
  assert.equal(await page.$$eval('#diagram [data-function="publish"]', (n) => n.length), 2);
  // Every node of the bundle is drawn once.
  const bundle = JSON.parse(read(services));
  const nodes = bundle.functions.length + bundle.workflow.states.length + bundle.workflow.sites.length;
  assert.equal(await page.$$eval('#diagram .function, #diagram .state', (n) => n.length), nodes);
  assert.deepEqual(await axeViolations(page), []);
  await page.locator('#workflow').screenshot({ path: artifact('services-sites-workflow.png') });

  // A Distributed Map of 100 items in batches of 25: 4 child executions, 2 at a time.
  const asl = join(scratch, 'distributed.asl.json');
  writeFileSync(asl, JSON.stringify({
    StartAt: 'Ingest',
    States: {
      Ingest: { Type: 'Task', Resource: 'arn:aws:lambda:us-east-1:1:function:ingest', Next: 'Each Item' },
      'Each Item': {
        Type: 'Map', End: true, MaxConcurrency: 2, ItemBatcher: { MaxItemsPerBatch: 25 },
        ItemProcessor: {
          ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'EXPRESS' },
          StartAt: 'Classify',
          States: { Classify: { Type: 'Task', Resource: 'arn:aws:lambda:us-east-1:1:function:classify', End: true } },
        },
      },
    },
  }));
  const distributed = join(scratch, 'distributed.bundle.json');
  run(['workflow', 'import-asl', asl, '--functions-from', bundlePath('media-pipeline'), '--map-items', 'Each Item=100', '-o', distributed]);
  await page.setInputFiles('#file', distributed);
  await page.waitForFunction(() => window.optiserveWww.app?.name === 'distributed.bundle.json');
  await settle();
  assert.ok(await page.isHidden('#load-error'));
  assert.equal(await page.textContent('#structure'), cliJson(['validate', distributed]).structure);
  assert.equal(await page.textContent('#diagram .cluster.map.distributed .cluster-label'), 'Distributed Map ×100 items: 4 express child executions of 25 items, 2 at a time');
  // The body runs once per batch (a child execution), as the CLI counts it.
  const invocations = cliJson(['evaluate', distributed]).functions.classify.invocations;
  assert.equal(invocations, 4);
  assert.equal((await state()).evaluation.functions.classify.invocations, invocations);
  assert.deepEqual(await axeViolations(page), []);
  await page.locator('#workflow').screenshot({ path: artifact('distributed-map-workflow.png') });
});

test('a 100-point what-if sweep recomputes and re-renders (timed, printed)', async () => {
  const timings = {};
  for (const bundle of ['app3', 'media-pipeline', 'six-functions']) {
    await open(`${server.url}/#b=example:${bundle}&o=cost&ws=20&wl=5`);
    assert.equal(await page.getAttribute('#whatif-chart', 'data-points'), '100');
    // Through the UI: change the axis (a new sweep, solved a slice at a time), until it is drawn.
    const ms = await page.evaluate(async () => {
      const select = document.querySelector('#whatif-x');
      const runs = [];
      for (let i = 0; i < 6; i++) {
        const t0 = performance.now();
        select.selectedIndex = (select.selectedIndex + 1) % select.options.length;
        select.dispatchEvent(new Event('change'));
        await window.optiserveWww.settled();
        await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
        runs.push(performance.now() - t0);
      }
      runs.sort((a, b) => a - b);
      return { median: runs[3], worst: runs[runs.length - 1] };
    });
    timings[bundle] = ms;
    assert.equal(await page.getAttribute('#whatif-chart', 'data-points'), '100');
  }
  for (const [bundle, t] of Object.entries(timings)) {
    console.log(`what-if, 100 points (5 lines × 20), recompute + re-render in headless Chromium, ${bundle}: median ${t.median.toFixed(1)} ms, worst ${t.worst.toFixed(1)} ms (target < 1000 ms)`);
  }
});

test('the latency model: branch-aware by default, the thesis on request, both as the CLI computes them', async () => {
  const file = join(ROOT, 'tests', 'fixtures', 'real-aws', 'app16.bundle.json');
  await open(`${server.url}/#b=example:app16-real-aws`);
  assert.match(await page.textContent('#bundle-summary'), /app16 \(bundle\): 16 functions/);
  assert.equal(await page.inputValue('#latency-model'), 'branch_aware');
  const aware = cliJson(['evaluate', file]);
  let s = await state();
  assert.equal(s.evaluation.latency_model, 'branch_aware');
  assertClose(s.evaluation.latency_ms, aware.latency_ms);
  assert.match(await page.textContent('#m-latency-note'), /^branch-aware model · exact value at most 0\.54 ms higher$/);
  await page.selectOption('#latency-model', 'thesis');
  await page.waitForFunction(() => window.optiserveWww.app.evaluation?.latency_model === 'thesis');
  await settle();
  const thesis = cliJson(['evaluate', file, '--latency-model', 'thesis']);
  s = await state();
  assertClose(s.evaluation.latency_ms, thesis.latency_ms);
  assert.ok(thesis.latency_ms < aware.latency_ms - 100, `${thesis.latency_ms} vs ${aware.latency_ms}`);
  assert.equal(await page.textContent('#m-latency-note'), 'thesis model');
  // The choice travels with the link.
  await page.waitForFunction(() => location.hash.includes('m=thesis'));
  const link = page.url();
  await open(link);
  assert.equal(await page.inputValue('#latency-model'), 'thesis');
  assert.equal((await state()).evaluation.latency_model, 'thesis');
  // Back to the bundle's own model.
  await page.selectOption('#latency-model', 'branch_aware');
  await page.waitForFunction(() => window.optiserveWww.app.evaluation?.latency_model === 'branch_aware');
  await page.waitForFunction(() => !location.hash.includes('m='));
});

test('cold starts: their share of latency and cost, as `optiserve evaluate` reports it', async () => {
  const bundle = JSON.parse(read(bundlePath('app3')));
  bundle.name = 'app3-cold';
  for (const v of bundle.functions[0].variants) v.cold_start = { probability: 0.1, init_ms: 800 };
  const file = join(scratch, 'app3-cold.bundle.json');
  writeFileSync(file, JSON.stringify(bundle));
  await page.setInputFiles('#file', file);
  await page.waitForFunction(() => window.optiserveWww.app.bundle.name === 'app3-cold');
  await settle();
  const s = await state();
  const config = join(scratch, 'app3-cold.config.json');
  writeFileSync(config, JSON.stringify({ config: s.solution.config }));
  const expected = cliJson(['evaluate', file, '--config', config]);
  assert.ok(expected.cold_start_latency_ms > 0 && expected.cold_start_cost_usd_per_million > 0);
  assertClose(s.evaluation.cold_start_latency_ms, expected.cold_start_latency_ms);
  const note = await page.textContent('#m-latency-note');
  assert.ok(note.includes(`cold starts ${expected.cold_start_latency_ms.toLocaleString('en-US', { maximumFractionDigits: 2, minimumFractionDigits: 2 })} ms`), note);
  assert.match(await page.textContent('#m-cost-note'), /^cold starts' INIT: \$[\d,]+\.\d{4} \(\d+\.\d%\)$/);
  const foot = await page.textContent('#config-table tfoot');
  assert.ok(foot.includes('of which cold starts\' INIT phases'), foot);
});

test('the Content Security Policy blocks other origins; no request leaves the site', async () => {
  await open(`${server.url}/`);
  const violation = await page.evaluate(async () => {
    const seen = new Promise((resolve) => document.addEventListener('securitypolicyviolation', (e) => resolve(`${e.violatedDirective} ${e.blockedURI}`), { once: true }));
    await fetch('http://example.invalid/collect').catch(() => {});
    return seen;
  });
  assert.match(violation, /^connect-src http:\/\/example\.invalid/);
  const csp = await page.getAttribute('meta[http-equiv="Content-Security-Policy"]', 'content');
  assert.match(csp, /default-src 'self'/);
  assert.match(csp, /script-src 'self' 'wasm-unsafe-eval'/);
  // The CSP violation above is the test's own; nothing else went wrong on the page.
  assert.deepEqual(errors.filter((e) => !e.includes('example.invalid')), []);
});

test('accessible: every control has a label, and the page fits a phone', async () => {
  const unlabelled = await page.$$eval('input, select, button', (els) =>
    els.filter((e) => !e.closest('[hidden]') && !e.labels?.length && !e.getAttribute('aria-label') && !e.textContent.trim()).map((e) => e.id || e.outerHTML));
  assert.deepEqual(unlabelled, []);
  // Tab reaches the objective from the top of the page.
  await page.focus('body');
  let reached = false;
  for (let i = 0; i < 12 && !reached; i++) {
    await page.keyboard.press('Tab');
    reached = await page.evaluate(() => document.activeElement?.id === 'objective');
  }
  assert.ok(reached, 'the objective is reachable with Tab');
  const phone = await context.newPage();
  await phone.setViewportSize({ width: 390, height: 844 });
  await open(`${server.url}/#b=example:media-pipeline&o=latency&cost=800`, phone);
  const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the page is ${overflow}px wider than a phone`);
  await phone.screenshot({ path: artifact('media-pipeline-phone.png'), fullPage: true });
  await phone.close();
});

test('works offline once loaded (service worker)', async () => {
  const p = await context.newPage();
  const pErrors = watchPage(p);
  await open(`${server.url}/#b=example:app3`, p);
  await p.evaluate(() => navigator.serviceWorker.ready);
  await p.waitForFunction(async () => {
    const keys = await caches.keys();
    return keys.some((k) => k.startsWith('optiserve-www-'));
  });
  await server.close();
  await open(`${server.url}/#b=example:media-pipeline&o=cost`, p);
  assert.match(await p.textContent('#bundle-summary'), /media-pipeline \(bundle\): 8 functions/);
  assert.equal((await state(p)).solution.status, 'optimal');
  assert.deepEqual(pErrors, []);
  await p.close();
  server = null;
});

test('no page errors', () => {
  assert.deepEqual(errors.filter((e) => !e.includes('example.invalid')), []);
});
