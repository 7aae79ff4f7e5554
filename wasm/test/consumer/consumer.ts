// A TypeScript consumer of every method of the package: `tsc --noEmit` on this file (in a fresh
// project with the tarball installed) must pass. The `@ts-expect-error` lines prove the types are
// real types, not `any`.

import {
  Planner,
  fitModel,
  importOptiserveSpec,
  type Bundle,
  type ConfigurationInput,
  type Evaluation,
  type ModelSelection,
  type ModelFamily,
  type OptimizeRequest,
  type ParetoPoint,
  type SimulateRequest,
  type SimulationReport,
  type Solution,
  type Status,
  type ValidationReport,
  type WhatIfPoint,
  type WhatIfRequest,
} from 'optiserve';
import { OptiservePlanner, type ConfigChangeDetail } from 'optiserve/widget';

declare const text: string;

const bundle: Bundle = importOptiserveSpec(text);
const planner = new Planner(bundle);
const fromText = new Planner(text);

const report: ValidationReport = planner.validate();
const functions: number = report.functions;
const range: number[] = report.accuracy_range;

const deployed: Evaluation = planner.evaluate();
const latency: number = deployed.latency_ms;
for (const [id, f] of Object.entries(deployed.functions)) {
  const memory: number = f.memory_mb;
  const variant: string = f.variant;
  console.log(id, memory, variant, f.duration_ms, f.cost_usd_per_million, f.invocations);
}

const request: OptimizeRequest = {
  objective: 'latency',
  constraints: { max_cost_usd_per_million: 800, min_accuracy: 1.8 },
  solver: 'exact',
};
const solution: Solution = planner.optimize(request);
const status: Status = solution.status;
const cost: number | null = solution.cost_usd_per_million;
if (solution.config) {
  for (const [id, choice] of Object.entries(solution.config)) {
    console.log(id, choice.memory_mb, choice.variant ?? 'deployed variant');
  }
  const again: Evaluation = planner.evaluate(solution);
  const byMap: Evaluation = planner.evaluate(solution.config);
  console.log(again.accuracy, byMap.accuracy);
}
if (solution.infeasible) console.log(solution.infeasible.message, solution.infeasible.best_reachable);
const input: ConfigurationInput = { resnet: { memory_mb: 4096, variant: 'resnet-50' } };
planner.evaluate(input);
planner.evaluate(JSON.stringify(input));
planner.evaluate(null);

const sweep: WhatIfRequest = {
  objective: 'cost',
  vary: [
    { constraint: 'max_latency_ms', from: 3000, to: 15000, steps: 5 },
    { constraint: 'min_accuracy', from: 0.75, to: 3, steps: 4 },
  ],
  fixed: { max_cost_usd_per_million: 900 },
};
const points: WhatIfPoint[] = planner.whatIf(sweep);
const firstLimit: number | null | undefined = points[0]?.constraints.max_latency_ms;

const front: ParetoPoint[] = planner.pareto();
const limited: ParetoPoint[] = planner.pareto(100_000);
const fastest: number | undefined = front[0]?.latency_ms;

const fit: ModelSelection = fitModel([
  { memory_mb: 128, duration_ms: 2900 },
  { memory_mb: 512, duration_ms: 900 },
  { memory_mb: 1024, duration_ms: 420 },
]);
const r2: number | null | undefined = fit.r2; // absent when the model has as many parameters as samples
const family: ModelFamily = fit.family;
const knee: number | undefined = fit.model.kind === 'cpu_share' ? fit.model.knee_mb : undefined;
const forced: ModelSelection = fitModel(
  '[{"memory_mb": 128, "duration_ms": 2900}, {"memory_mb": 256, "duration_ms": 1500}, {"memory_mb": 512, "duration_ms": 800}]',
  'cpu-share',
);
const expCv: number | null = fit.candidates[0]?.cv_error_percent ?? null;

planner.free();
fromText.free();

// The widget.
const widget = document.createElement('optiserve-planner');
const typed: OptiservePlanner = widget;
typed.bundle = bundle;
typed.addEventListener('configchange', (event) => {
  const detail: ConfigChangeDetail = event.detail;
  console.log(detail.config, detail.solution.status, detail.evaluation?.latency_ms);
});
const current: Solution | null = typed.solution;

// @ts-expect-error: not an objective
planner.optimize({ objective: 'fastest' });
// @ts-expect-error: constraints are numbers
planner.optimize({ objective: 'cost', constraints: { max_latency_ms: '1000' } });
// @ts-expect-error: a sweep needs its steps
planner.whatIf({ objective: 'cost', vary: [{ constraint: 'min_accuracy', from: 0, to: 1 }] });
// @ts-expect-error: samples are objects
fitModel([[128, 2900]]);
// @ts-expect-error: not a model family
fitModel([{ memory_mb: 128, duration_ms: 2900 }], 'linear');
// @ts-expect-error: the status is a closed set
const wrong: Status = 'done';

console.log(functions, range, latency, status, cost, firstLimit, limited, fastest, expCv, family, knee, forced, current, wrong);

// Simulation and tail-latency problems.
const simRequest: SimulateRequest = { runs: 100_000, seed: 42, config: solution, durations: 'samples' };
const sim: SimulationReport = planner.simulate(simRequest);
const p95: number = sim.p95_ms;
const [p95Low, p95High]: [number, number] = sim.p95_ci_ms;
const seed: number = planner.simulate().seed;
console.log(p95, p95Low, p95High, seed, sim.histogram.map((b) => b.count));
const tail: Solution = planner.optimize({
  objective: 'p95_latency',
  constraints: { max_cost_usd_per_million: 800, max_p99_latency_ms: 20_000 },
  scenarios: 2000,
  seed: 7,
  certify_runs: 50_000,
});
if (tail.tail?.certification) {
  for (const c of tail.tail.certification.checks) console.log(c.constraint, c.verdict, c.ci_ms[1]);
}
// @ts-expect-error not an objective
planner.optimize({ objective: 'p90_latency' });
