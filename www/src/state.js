// The view as a URL fragment (`#b=example:app3&o=cost&lat=9000&…`), so that a link reproduces it.
// The fragment never reaches a server. Pure functions: tested in Node (test/state.test.mjs).
//
// Sources (`b=`): `example:<name>` (a built-in example), `url:<path>` (a bundle on this site),
// `local:<hash>` (an upload kept in this browser; `n=` names the file, so that a link opened
// elsewhere can ask for it) and `z:<data>` (a small bundle carried by the link itself, compressed:
// share.js).

import { CONSTRAINTS as CONSTRAINT_INFO, OBJECTIVES as OBJECTIVE_INFO } from 'optiserve/format';

export const OBJECTIVES = OBJECTIVE_INFO.map((o) => o.key);
export const CONSTRAINTS = CONSTRAINT_INFO.map((c) => c.key);
/** The latency models (`Planner.latencyModel`); `null` in a view: the bundle's. */
export const LATENCY_MODELS = ['branch_aware', 'thesis'];
/** The short names the fragment uses for the constraints. */
const SHORT = { max_latency_ms: 'lat', max_cost_usd_per_million: 'cost', min_accuracy: 'acc' };

/** The quantity (a field of a solution) each objective optimizes, and the constraint on it. */
export const OBJECTIVE_FIELD = Object.fromEntries(OBJECTIVE_INFO.map((o) => [o.key, o.field]));
export const OBJECTIVE_CONSTRAINT = Object.fromEntries(OBJECTIVE_INFO.map((o) => [o.key, o.constraint]));
/** The largest executions per month a view takes (a billion a day for a month and then some). */
export const MAX_EXECUTIONS_PER_MONTH = 1e12;

/** The view shown when the fragment says nothing. */
export function defaultView() {
  return {
    source: 'example:app3',
    objective: 'latency',
    limits: { max_latency_ms: null, max_cost_usd_per_million: null, min_accuracy: null },
    whatIfX: null,
    steps: 20,
    lines: 5,
    fn: null,
    pick: null,
    model: null,
    executions: null,
    name: null,
  };
}

const finite = (s) => {
  if (s === null || s === undefined || s.trim() === '') return null;
  const x = Number(s);
  return Number.isFinite(x) ? x : null;
};

const intIn = (s, lo, hi, fallback) => {
  const x = finite(s);
  return x !== null && Number.isInteger(x) && x >= lo && x <= hi ? x : fallback;
};

/** A configuration `{id: {memory_mb, variant}}` in the fragment: `{"id":[memory,"variant"]}`. */
export function encodeConfig(config) {
  return JSON.stringify(
    Object.fromEntries(Object.entries(config).map(([id, c]) => [id, [c.memory_mb, c.variant ?? null]])),
  );
}

/** The inverse of `encodeConfig`; `null` for anything that is not such a configuration. */
export function decodeConfig(text) {
  let value;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return null;
  const config = {};
  for (const [id, entry] of Object.entries(value)) {
    if (!Array.isArray(entry) || entry.length !== 2) return null;
    const [memory, variant] = entry;
    if (!Number.isInteger(memory) || memory <= 0) return null;
    if (variant !== null && typeof variant !== 'string') return null;
    config[id] = variant === null ? { memory_mb: memory } : { memory_mb: memory, variant };
  }
  return Object.keys(config).length ? config : null;
}

/** The fragment (without `#`) of a view. */
export function encodeView(view) {
  const p = new URLSearchParams();
  p.set('b', view.source);
  p.set('o', view.objective);
  for (const c of CONSTRAINTS) {
    const v = view.limits[c];
    if (v !== null && v !== undefined) p.set(SHORT[c], String(v));
  }
  if (view.whatIfX) p.set('wx', view.whatIfX);
  p.set('ws', String(view.steps));
  p.set('wl', String(view.lines));
  if (view.fn) p.set('fn', view.fn);
  if (view.pick) p.set('pick', encodeConfig(view.pick));
  if (view.model) p.set('m', view.model);
  if (view.executions !== null && view.executions !== undefined) p.set('x', String(view.executions));
  if (view.name) p.set('n', view.name);
  return p.toString();
}

/** The view a fragment describes; anything missing or malformed takes its default. */
export function decodeView(fragment) {
  const p = new URLSearchParams(fragment.replace(/^#/, ''));
  const view = defaultView();
  const source = p.get('b');
  if (source && /^(example|url|local):./.test(source)) view.source = source;
  if (source && /^z:[A-Za-z0-9_-]+$/.test(source)) view.source = source;
  const objective = p.get('o');
  if (OBJECTIVES.includes(objective)) view.objective = objective;
  for (const c of CONSTRAINTS) view.limits[c] = finite(p.get(SHORT[c]));
  const x = p.get('wx');
  if (CONSTRAINTS.includes(x)) view.whatIfX = x;
  view.steps = intIn(p.get('ws'), 2, 200, view.steps);
  view.lines = intIn(p.get('wl'), 1, 20, view.lines);
  view.fn = p.get('fn') || null;
  view.pick = p.has('pick') ? decodeConfig(p.get('pick')) : null;
  const model = p.get('m');
  if (LATENCY_MODELS.includes(model)) view.model = model;
  const executions = finite(p.get('x'));
  if (executions !== null && executions > 0 && executions <= MAX_EXECUTIONS_PER_MONTH) view.executions = executions;
  const name = p.get('n');
  if (name && name.length <= 200) view.name = name;
  return view;
}

/**
 * The two constraints a what-if chart can sweep for an objective (the ones that do not limit the
 * optimized quantity itself), ordered so that `x` (the horizontal axis) comes first.
 */
export function sweepAxes(objective, x) {
  const others = CONSTRAINTS.filter((c) => c !== OBJECTIVE_CONSTRAINT[objective]);
  const first = others.includes(x) ? x : others[0];
  return { x: first, lines: others.find((c) => c !== first) };
}

/** `n` evenly spaced values from `lo` to `hi`, both included (one value: `hi`). */
export function linspace(lo, hi, n) {
  if (n <= 1) return [hi];
  return Array.from({ length: n }, (_, i) => lo + ((hi - lo) * i) / (n - 1));
}
