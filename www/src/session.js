// A session: the bundle on screen with its planner and what follows from it alone (the validation
// report, the deployed configuration's figures, the sliders' ranges), plus caches of what is
// computed later (the Pareto front, function curves, simulations). Replaced as a whole when
// another bundle loads; every figure comes from the planner.

import { CONSTRAINTS, OBJECTIVE_FIELD } from './state.js';

/** Executions per simulation, and the fixed seed (the CLI's `simulate --runs 100000 --seed 1`). */
export const SIMULATION = { runs: 100_000, seed: 1 };
/** Executions per month when neither the link nor the bundle (`workload`) gives them. */
export const DEFAULT_EXECUTIONS = 1_000_000;

/** Slider ranges from the extremes the exact solver finds (and the deployed configuration). */
export function ranges(planner, report, deployed) {
  const best = (objective) => planner.optimize({ objective });
  const extremes = ['latency', 'cost', 'accuracy'].map(best);
  const pad = (lo, hi) => [lo, hi > lo ? hi : lo + Math.max(1, Math.abs(lo) * 0.1)];
  const span = (field) => {
    const values = [...extremes.map((s) => s[field]), deployed[field]];
    return pad(Math.min(...values), Math.max(...values));
  };
  return {
    max_latency_ms: span(OBJECTIVE_FIELD.latency),
    max_cost_usd_per_million: span(OBJECTIVE_FIELD.cost),
    min_accuracy: pad(report.accuracy_range[0], report.accuracy_range[1]),
  };
}

/**
 * A session for a loaded input (`readInput`'s `{planner, bundle, kind, text}`), named `name`,
 * from `source`, with latency model `model` (null: the bundle's).
 */
export function openSession(input, { name, source, model }) {
  const { planner, bundle, kind, text } = input;
  const bundleModel = planner.latencyModel;
  if (model) planner.latencyModel = model;
  const report = planner.validate();
  const deployed = planner.evaluate();
  return {
    planner,
    bundle,
    text,
    kind,
    name,
    source,
    bundleModel,
    report,
    deployed,
    ranges: ranges(planner, report, deployed),
    // Computed later, when idle:
    tree: null,
    laid: null,
    front: null,
    frontExact: false,
    frontNote: '',
    curves: new Map(),
    simulations: new Map(),
  };
}

/** Switches the session's planner to `model` (null: the bundle's) and recomputes what depends on it. */
export function useLatencyModel(session, model) {
  session.planner.latencyModel = model ?? session.bundleModel;
  session.deployed = session.planner.evaluate();
  session.ranges = ranges(session.planner, session.report, session.deployed);
  session.front = null;
  session.frontExact = false;
  session.curves.clear();
  session.simulations.clear();
}

/** The function whose charts to show first: one with samples, else one with variants, else the first. */
export function defaultFunction(bundle) {
  const withSamples = bundle.functions.find((f) => f.variants.some((v) => v.samples?.length));
  const ml = bundle.functions.find((f) => f.variants.length > 1);
  return (withSamples ?? ml ?? bundle.functions[0]).id;
}

/** Executions per month: the view's, else the bundle's `workload`, else the default. */
export function executionsPerMonth(session, view) {
  return view.executions ?? session?.bundle?.workload?.executions_per_month ?? DEFAULT_EXECUTIONS;
}

/** A configuration's simulation (cached per latency model and configuration). */
export function simulate(session, config) {
  const key = `${session.planner.latencyModel}|${JSON.stringify(config)}`;
  if (!session.simulations.has(key)) {
    session.simulations.set(key, session.planner.simulate({ config, runs: SIMULATION.runs, seed: SIMULATION.seed }));
  }
  return session.simulations.get(key);
}

/** Has a simulation of `config` been computed already? */
export function simulated(session, config) {
  return session.simulations.has(`${session.planner.latencyModel}|${JSON.stringify(config)}`);
}

/** The configuration `{id: {memory_mb, variant}}` of an evaluation. */
export function configOf(evaluation) {
  return Object.fromEntries(Object.entries(evaluation.functions).map(([id, f]) => [id, { memory_mb: f.memory_mb, variant: f.variant }]));
}

/** Do two configurations choose the same memory and variant for every function? */
export function sameConfig(a, b) {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => b[k] && a[k].memory_mb === b[k].memory_mb && (a[k].variant ?? null) === (b[k].variant ?? null));
}

export { CONSTRAINTS };
