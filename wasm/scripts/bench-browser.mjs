// The package's speed in headless Chromium (the numbers in the README), to compare with
// `cargo bench -p optiserve-wasm --bench native` (the same calls natively):
//
//   ./scripts/build-wasm.sh && node wasm/scripts/bench-browser.mjs
//
// App3: `new Planner`, 1000 `optimize` calls cycling through the 300 problems of
// benches/app3-whatif.json, the 300-problem what-if itself (3 × 10 × 10), `pareto`, and
// `simulate` of 100,000 executions (warm, and a first call on a new planner with a random seed). Best of
// several runs, after a warm-up.

import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { WASM_DIR, bundlePath, freshProject, launchChromium, serve } from '../test/helpers.mjs';

const project = freshProject('bench');
copyFileSync(bundlePath('app3'), join(project, 'app3.bundle.json'));
copyFileSync(join(WASM_DIR, 'benches', 'app3-whatif.json'), join(project, 'app3-whatif.json'));
writeFileSync(join(project, 'index.html'), `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><title>bench</title>
<script type="module">
  const t0 = performance.now();
  const { Planner } = await import('./node_modules/optiserve/web/index.js');
  const loadMs = performance.now() - t0;
  const text = await (await fetch('app3.bundle.json')).text();
  const requests = await (await fetch('app3-whatif.json')).json();
  const best = (runs, f) => { let b = Infinity; for (let i = 0; i < runs; i++) { const t = performance.now(); f(); b = Math.min(b, performance.now() - t); } return b; };
  const planner = new Planner(text);
  const problems = requests.flatMap((r) => planner.whatIf(r).map((p) => ({ objective: r.objective, constraints: p.constraints })));
  for (let i = 0; i < 300; i++) planner.optimize(problems[i]); // warm-up
  const calls = 1000;
  const optimizeMs = best(5, () => { for (let i = 0; i < calls; i++) planner.optimize(problems[i % problems.length]); });
  const whatIfMs = best(10, () => { for (const r of requests) planner.whatIf(r); });
  const plannerMs = best(20, () => new Planner(text).free());
  const paretoMs = best(5, () => planner.pareto());
  planner.simulate({ runs: 100000, seed: 1 }); // warm-up
  const simulateMs = best(5, () => planner.simulate({ runs: 100000, seed: 1 }));
  const simulateFreshMs = (() => { const t = performance.now(); new Planner(text).simulate({ runs: 100000 }); return performance.now() - t; })();
  window.result = { loadMs, problems: problems.length, calls, optimizeMs, whatIfMs, plannerMs, paretoMs, simulateMs, simulateFreshMs };
</script>`);
const server = await serve(project);
const browser = await launchChromium();
try {
  const page = await browser.newPage();
  await page.goto(`${server.url}/index.html`);
  await page.waitForFunction(() => window.result, null, { timeout: 120_000 });
  const r = await page.evaluate(() => window.result);
  const f = (x) => x.toFixed(3).padStart(9);
  console.log(`headless Chromium ${browser.version()}, App3, best of several runs:`);
  console.log(`  module load (fetch + compile + init)  ${f(r.loadMs)} ms`);
  console.log(`  new Planner (parse + validate)      ${f(r.plannerMs)} ms`);
  console.log(`  optimize, ${r.calls} calls (exact)        ${f(r.optimizeMs)} ms  (${((r.optimizeMs * 1e3) / r.calls).toFixed(1)} µs per call)`);
  console.log(`  whatIf, 3 × 10 × 10 = ${r.problems} problems  ${f(r.whatIfMs)} ms  (${((r.whatIfMs * 1e3) / r.problems).toFixed(1)} µs per problem)`);
  console.log(`  pareto (1291 points)                ${f(r.paretoMs)} ms`);
  console.log(`  simulate, 100,000 executions        ${f(r.simulateMs)} ms  (${(100 / r.simulateMs).toFixed(1)} million executions/s)`);
  console.log(`  new Planner + simulate 100,000, first call, random seed  ${f(r.simulateFreshMs)} ms`);
} finally {
  await browser.close();
  await server.close();
}
