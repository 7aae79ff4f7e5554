// The view as a URL fragment (`#b=example:app3&o=cost&lat=9000&…`), so that a link reproduces it.
// The fragment never reaches a server. Pure functions: tested in Node (test/state.test.mjs).

export const OBJECTIVES = ['latency', 'cost', 'accuracy'];
export const CONSTRAINTS = ['max_latency_ms', 'max_cost_usd_per_million', 'min_accuracy'];
/** The latency models (`Planner.latencyModel`); `null` in a view: the bundle's. */
export const LATENCY_MODELS = ['branch_aware', 'thesis'];
/** The short names the fragment uses for the constraints. */
const SHORT = { max_latency_ms: 'lat', max_cost_usd_per_million: 'cost', min_accuracy: 'acc' };

/** The quantity (a field of a solution) each objective optimizes, and the constraint on it. */
export const OBJECTIVE_FIELD = {
  latency: 'latency_ms',
  cost: 'cost_usd_per_million',
  accuracy: 'accuracy',
};
export const OBJECTIVE_CONSTRAINT = {
  latency: 'max_latency_ms',
  cost: 'max_cost_usd_per_million',
  accuracy: 'min_accuracy',
};

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
  return p.toString();
}

/** The view a fragment describes; anything missing or malformed takes its default. */
export function decodeView(fragment) {
  const p = new URLSearchParams(fragment.replace(/^#/, ''));
  const view = defaultView();
  const source = p.get('b');
  if (source && /^(example|url|local):./.test(source)) view.source = source;
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
