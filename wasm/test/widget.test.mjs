// <optiserve-planner> in headless Chromium: a plain HTML page with one module import, served with
// the installed package from 127.0.0.1; the recommended configuration read from the DOM equals
// the native CLI's `optimize`, and follows the controls.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, WASM_DIR, assertClose, bundlePath, cli, cliJson, freshProject, launchChromium, serve, tempDir, watchPage } from './helpers.mjs';

const PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><link rel="icon" href="data:,"><title>optiserve planner</title></head>
<body>
  <h1>App3</h1>
  <optiserve-planner id="planner" src="app3.bundle.json" objective="latency"
                     max-cost-usd-per-million="800" min-accuracy="1.8"></optiserve-planner>
  <script>
    window.changes = [];
    document.addEventListener('configchange', (e) => window.changes.push(e.detail));
  </script>
  <script type="module">import './node_modules/optiserve/widget.js';</script>
</body>
</html>
`;

let server, browser, page, errors, project;
const requested = [];

before(async () => {
  project = freshProject('widget');
  copyFileSync(bundlePath('app3'), join(project, 'app3.bundle.json'));
  writeFileSync(join(project, 'index.html'), PAGE);
  server = await serve(project);
  browser = await launchChromium();
  page = await browser.newPage();
  errors = watchPage(page);
  page.on('request', (r) => requested.push(new URL(r.url()).pathname));
  await page.goto(`${server.url}/index.html`);
});

after(async () => {
  await browser?.close();
  await server?.close();
});

/** What the widget shows: status, metrics (full precision from data-value) and the plan. */
async function shown() {
  return page.locator('#planner').evaluate((el) => {
    const root = el.shadowRoot;
    const field = (k) => root.querySelector(`.summary [data-field="${k}"]`);
    const num = (k) => (field(k).dataset.value === undefined ? null : Number(field(k).dataset.value));
    const config = {};
    for (const tr of root.querySelectorAll('tbody tr')) {
      config[tr.dataset.function] = {
        memory_mb: Number(tr.querySelector('[data-field="memory_mb"]').textContent),
        variant: tr.querySelector('[data-field="variant"]').textContent,
      };
    }
    return {
      status: field('status').dataset.value,
      latency_ms: num('latency_ms'),
      cost_usd_per_million: num('cost_usd_per_million'),
      accuracy: num('accuracy'),
      config: Object.keys(config).length ? config : null,
      why: root.querySelector('.why').hidden ? null : root.querySelector('.why').textContent,
      points: root.querySelectorAll('svg circle.point').length,
    };
  });
}

function expected(objective, constraints) {
  const flags = Object.entries(constraints).flatMap(([k, v]) => [`--${k.replaceAll('_', '-')}`, String(v)]);
  const s = cliJson(['optimize', bundlePath('app3'), '--objective', objective, ...flags], { allow: [0, 2] });
  return { status: s.status, latency_ms: s.latency_ms, cost_usd_per_million: s.cost_usd_per_million, accuracy: s.accuracy, config: s.config };
}

async function waitForChange(count) {
  await page.waitForFunction((n) => window.changes.length > n, count);
}

test('mounts from a plain HTML page and shows the CLI plan', async () => {
  await page.locator('optiserve-planner tbody tr').first().waitFor();
  const s = await shown();
  const { why, points, ...plan } = s;
  assertClose(plan, expected('latency', { max_cost_usd_per_million: 800, min_accuracy: 1.8 }));
  assert.equal(s.status, 'optimal');
  assert.equal(points, 1291, 'the Pareto front is charted');
  assert.deepEqual(requested.filter((p) => p.endsWith('.bundle.json')), ['/app3.bundle.json'], 'the bundle is fetched once');
  const changes = await page.evaluate(() => window.changes);
  assert.ok(changes.length >= 1);
  assertClose(changes.at(-1).config, plan.config);
});

test('typing a new constraint (keyboard) updates the plan', async () => {
  const before = await page.evaluate(() => window.changes.length);
  const cost = page.getByLabel('Max cost (USD per million executions)');
  await cost.focus();
  await cost.press('ControlOrMeta+a');
  await cost.pressSequentially('650');
  await cost.press('Enter');
  await waitForChange(before);
  const { why, points, ...plan } = await shown();
  assertClose(plan, expected('latency', { max_cost_usd_per_million: 650, min_accuracy: 1.8 }));
  assertClose((await page.evaluate(() => window.changes.at(-1))).config, plan.config);
});

test('the objective is a keyboard-usable radio group', async () => {
  const before = await page.evaluate(() => window.changes.length);
  await page.getByLabel('Lowest latency').focus();
  await page.keyboard.press('ArrowRight'); // → Lowest cost
  await waitForChange(before);
  assert.equal(await page.getByLabel('Lowest cost').isChecked(), true);
  const { why, points, ...plan } = await shown();
  assertClose(plan, expected('cost', { max_cost_usd_per_million: 650, min_accuracy: 1.8 }));
});

test('an impossible constraint shows the infeasibility', async () => {
  await page.getByLabel('Lowest latency').check();
  const cost = page.getByLabel('Max cost (USD per million executions)');
  await cost.fill('400');
  await page.getByLabel('Min accuracy score').fill('2');
  await page.getByLabel('Min accuracy score').press('Enter');
  await page.waitForFunction(() => window.changes.at(-1)?.solution.status === 'infeasible');
  const s = await shown();
  assert.equal(s.status, 'infeasible');
  assert.equal(s.config, null);
  const cli = cliJson(['optimize', bundlePath('app3'), '--objective', 'latency', '--max-cost-usd-per-million', '400', '--min-accuracy', '2'], { allow: [2] });
  assert.equal(s.why, cli.infeasible.message);
});

test('a bundle set as a property works, and a bad one shows the error', async () => {
  const result = await page.evaluate(async (bundle) => {
    const el = document.createElement('optiserve-planner');
    el.setAttribute('objective', 'cost');
    document.body.append(el);
    const changed = new Promise((ok) => el.addEventListener('configchange', (e) => ok(e.detail), { once: true }));
    el.bundle = bundle;
    const detail = await changed;
    const bad = document.createElement('optiserve-planner');
    document.body.append(bad);
    bad.bundle = { ...bundle, functions: 'none' };
    const alert = bad.shadowRoot.querySelector('[role="alert"]');
    return { config: detail.config, status: detail.solution.status, error: alert.hidden ? null : alert.textContent };
  }, JSON.parse((await import('node:fs')).readFileSync(bundlePath('app3'), 'utf8')));
  assertClose({ status: result.status, config: result.config }, (({ status, config }) => ({ status, config }))(expected('cost', {})));
  assert.match(result.error, /^\$\.functions: invalid type/);
  assert.deepEqual(errors, [], 'no errors in the page');
});

test('a bundle whose Pareto front is too large to chart still plans', async () => {
  const bundle = JSON.parse((await import('node:fs')).readFileSync(bundlePath('media-pipeline'), 'utf8'));
  const result = await page.evaluate(async (b) => {
    const el = document.createElement('optiserve-planner');
    el.setAttribute('objective', 'cost');
    document.body.append(el);
    const changed = new Promise((ok) => el.addEventListener('configchange', (e) => ok(e.detail), { once: true }));
    const t = performance.now();
    el.bundle = b;
    const detail = await changed;
    return {
      ms: performance.now() - t,
      status: detail.solution.status,
      config: detail.config,
      chart: el.shadowRoot.querySelector('svg').textContent,
      rows: el.shadowRoot.querySelectorAll('tbody tr').length,
    };
  }, bundle);
  const cli = cliJson(['optimize', bundlePath('media-pipeline'), '--objective', 'cost']);
  assertClose({ status: result.status, config: result.config }, { status: cli.status, config: cli.config });
  assert.equal(result.rows, 8);
  assert.match(result.chart, /too large to chart/);
  assert.deepEqual(errors, [], 'no errors in the page');
});

test('the widget names its latency model, and takes the thesis one from an attribute', async () => {
  const file = join(ROOT, 'tests', 'fixtures', 'real-aws', 'app16.bundle.json');
  const bundle = JSON.parse((await import('node:fs')).readFileSync(file, 'utf8'));
  const result = await page.evaluate(async (b) => {
    const el = document.createElement('optiserve-planner');
    el.setAttribute('objective', 'cost');
    document.body.append(el);
    const read = () => {
      const dd = el.shadowRoot.querySelector('.summary [data-field="latency_ms"]');
      return { label: dd.previousElementSibling.textContent, model: dd.dataset.model, latency: Number(dd.dataset.value) };
    };
    let changed = new Promise((ok) => el.addEventListener('configchange', ok, { once: true }));
    el.bundle = b;
    await changed;
    const aware = read();
    changed = new Promise((ok) => el.addEventListener('configchange', ok, { once: true }));
    el.setAttribute('latency-model', 'thesis');
    await changed;
    const thesis = read();
    el.remove();
    return { aware, thesis };
  }, bundle);
  const cli = (model) => cliJson(['optimize', file, '--objective', 'cost', '--latency-model', model]);
  assert.equal(result.aware.label, 'Latency (ms, expected; branch-aware model)');
  assert.equal(result.aware.model, 'branch_aware');
  assertClose(result.aware.latency, cli('branch-aware').latency_ms);
  assert.equal(result.thesis.label, 'Latency (ms, expected; thesis model)');
  assertClose(result.thesis.latency, cli('thesis').latency_ms);
  assert.deepEqual(errors, [], 'no errors in the page');
});

test('the widget says whether branch probabilities were measured, assumed or given', async () => {
  const media = JSON.parse((await import('node:fs')).readFileSync(bundlePath('media-pipeline'), 'utf8'));
  // The same bundle three ways: as committed (no basis), as `workflow import-asl` leaves the
  // probabilities (uniform, assumed), and as `workflow measure` writes them.
  const assumed = structuredClone(media);
  const measured = structuredClone(media);
  for (const [i, e] of media.workflow.edges.entries()) {
    if (e.probability >= 1) continue;
    assumed.workflow.edges[i].basis = { source: 'assumed' };
    measured.workflow.edges[i].basis = { source: 'measured', taken: 3, out_of: 5, executions: 2000 };
  }
  const texts = await page.evaluate(async (bundles) => {
    const out = [];
    for (const b of bundles) {
      const el = document.createElement('optiserve-planner');
      el.setAttribute('objective', 'cost');
      document.body.append(el);
      const changed = new Promise((ok) => el.addEventListener('configchange', ok, { once: true }));
      el.bundle = b;
      await changed;
      out.push(el.shadowRoot.querySelector('[part="probabilities"]').textContent);
      el.remove();
    }
    return out;
  }, [media, assumed, measured]);
  assert.deepEqual(texts, [
    'Branch and loop probabilities: 6 given by the bundle.',
    'Branch and loop probabilities: 6 assumed, not measured yet.',
    'Branch and loop probabilities: 6 measured from 2,000 executions.',
  ]);
  assert.deepEqual(errors, [], 'no errors in the page');
});

test('the widget shows the gain against the deployed configuration as the CLI computes it, with a monthly cost; 0 axe violations', async () => {
  const fmt = await import('../npm/format.js');
  // A page as a site would have it (a main landmark), the widget with a workload.
  writeFileSync(
    join(project, 'gain.html'),
    PAGE.replace('<h1>App3</h1>', '<main><h1>App3</h1>')
      .replace('objective="latency"\n                     max-cost-usd-per-million="800" min-accuracy="1.8"></optiserve-planner>', 'objective="cost" max-latency-ms="9000" executions-per-month="2500000"></optiserve-planner></main>'),
  );
  const p = await browser.newPage();
  const pErrors = watchPage(p);
  await p.goto(`${server.url}/gain.html`);
  await p.waitForFunction(() => {
    const el = document.querySelector('#planner');
    return el.solution?.status === 'optimal' && el.comparison && el.shadowRoot.querySelector('.summary [data-delta="cost_usd_per_million"]').textContent;
  });
  const deployed = cliJson(['evaluate', bundlePath('app3')]);
  const solution = cliJson(['optimize', bundlePath('app3'), '--objective', 'cost', '--max-latency-ms', '9000']);
  const got = await p.locator('#planner').evaluate((el) => {
    const root = el.shadowRoot;
    const delta = (k) => root.querySelector(`.summary [data-delta="${k}"]`);
    return {
      config: el.solution.config,
      deltas: Object.fromEntries(['latency_ms', 'cost_usd_per_million', 'monthly_usd', 'accuracy'].map((k) => [k, [delta(k).textContent, delta(k).dataset.verdict]])),
      monthly: root.querySelector('.summary [data-field="monthly_usd"]').textContent,
      gain: root.querySelector('.gain').textContent,
      changes: Object.fromEntries([...root.querySelectorAll('tbody tr')].map((tr) => [tr.dataset.function, tr.querySelector('[data-field="change"]').textContent])),
    };
  });
  assertClose(got.config, solution.config);
  const monthly = (x) => (x * 2.5e6) / 1e6;
  const expect = {
    latency_ms: fmt.delta('latency_ms', deployed.latency_ms, solution.latency_ms),
    cost_usd_per_million: fmt.delta('cost_usd_per_million', deployed.cost_usd_per_million, solution.cost_usd_per_million),
    monthly_usd: fmt.delta('monthly_usd', monthly(deployed.cost_usd_per_million), monthly(solution.cost_usd_per_million)),
    accuracy: fmt.delta('accuracy', deployed.accuracy, solution.accuracy),
  };
  for (const [k, d] of Object.entries(expect)) {
    const rel = d.verdict === 'same' ? 'no change' : fmt.signedPercent(d.percent);
    assert.ok(got.deltas[k][0].startsWith(`${rel} vs deployed`), `${k}: ${got.deltas[k][0]} (expected ${rel})`);
    assert.equal(got.deltas[k][1], d.verdict, k);
  }
  assert.equal(got.monthly, `${fmt.monthly(monthly(solution.cost_usd_per_million))} at 2,500,000 executions`);
  assert.ok(got.gain.startsWith(`Against the deployed configuration: ${fmt.deltaText('cost_usd_per_million', expect.cost_usd_per_million)}`), got.gain);
  for (const [id, to] of Object.entries(solution.config)) {
    const from = deployed.functions[id];
    const parts = [];
    if (from.memory_mb !== to.memory_mb) parts.push(`${fmt.count(from.memory_mb)} → ${fmt.count(to.memory_mb)} MB`);
    if (from.variant !== to.variant) parts.push(`${from.variant} → ${to.variant}`);
    assert.equal(got.changes[id], parts.length ? parts.join(', ') : 'unchanged', id);
  }
  // axe-core (the npm package, injected through the DevTools protocol) on the page with the widget.
  const axe = readFileSync(join(WASM_DIR, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');
  await p.evaluate(axe);
  await p.locator('#planner').evaluate((el) => el.shadowRoot.querySelectorAll('details').forEach((d) => (d.open = true)));
  const violations = await p.evaluate(async () =>
    (await window.axe.run(document, { resultTypes: ['violations'] })).violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`));
  assert.deepEqual(violations, []);
  assert.deepEqual(pErrors, []);
  await p.close();
});

test('the widget lists the workflow: service states by service, a function reused at two sites, a Distributed Map', async () => {
  const dir = tempDir('widget-workflow');
  const imported = join(dir, 'media-services.bundle.json');
  const run = (args) => {
    const r = cli(args);
    assert.equal(r.status, 0, `optiserve ${args.join(' ')}: ${r.stderr}`);
  };
  run(['workflow', 'import-asl', join(ROOT, 'tests', 'fixtures', 'sfn-sim', 'media-services.asl.json'), '--functions-from', bundlePath('media-pipeline'), '-o', imported]);
  const asl = join(dir, 'distributed.asl.json');
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
  const distributed = join(dir, 'distributed.bundle.json');
  run(['workflow', 'import-asl', asl, '--functions-from', bundlePath('media-pipeline'), '--map-items', 'Each Item=100', '-o', distributed]);

  const p = await browser.newPage();
  const pErrors = watchPage(p);
  await p.goto(`${server.url}/index.html`);
  const show = (bundle) => p.evaluate(async (b) => {
    await customElements.whenDefined('optiserve-planner');
    const el = document.createElement('optiserve-planner');
    el.setAttribute('objective', 'cost');
    document.body.append(el);
    const changed = new Promise((ok) => el.addEventListener('configchange', () => ok(), { once: true }));
    const t0 = performance.now();
    el.bundle = b;
    const setMs = performance.now() - t0;
    // The first plan, or an error shown in the widget (the test then says which).
    await Promise.race([changed, new Promise((ok) => setTimeout(ok, 10_000))]);
    if (!el.solution) return { error: `${el.shadowRoot.querySelector('[role="alert"]').textContent || 'no plan after 10 s'} (set ${setMs} ms, ${typeof b}, ${Object.keys(b)})` };
    const root = el.shadowRoot;
    const text = (sel) => [...root.querySelectorAll(sel)].map((x) => x.firstChild.textContent);
    const out = {
      summary: root.querySelector('.workflow summary').textContent,
      states: text('.workflow [data-state]'),
      sites: text('.workflow .function.site'),
      functions: text('.workflow .function'),
      maps: text('.workflow .map.distributed'),
    };
    el.remove();
    return out;
  }, JSON.parse(readFileSync(bundle, 'utf8')));

  const services = await show(imported);
  assert.equal(services.error, undefined);
  assert.equal(services.summary, 'Workflow: 4 functions, 1 more site of a reused function, 4 service states');
  assert.ok(services.states.includes('Notify: sns:publish'), services.states.join(' | '));
  assert.ok(services.states.includes('Human Review (callback): callback wait'), services.states.join(' | '));
  assert.ok(services.states.includes('Save Upload: dynamodb:putItem'), services.states.join(' | '));
  assert.ok(services.states.includes('Wait For Transcode: wait state · 2000 ms'), services.states.join(' | '));
  assert.deepEqual(services.sites, ['publish (again, at Publish Final)']);
  assert.deepEqual(services.functions.filter((f) => f.startsWith('publish')), ['publish', 'publish (again, at Publish Final)']);

  const map = await show(distributed);
  assert.equal(map.error, undefined);
  assert.equal(map.summary, 'Workflow: 2 functions, 1 Map state');
  assert.deepEqual(map.maps, ['Distributed Map ×100 items: 4 express child executions of 25 items, 2 at a time']);
  assert.deepEqual(pErrors, [], 'no errors in the page');
  await p.close();
});
