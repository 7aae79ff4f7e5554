// `optiserve/format`: the labels, units and number formats of optiserve's figures, and the
// comparison of two evaluated configurations (the gain). One source for the <optiserve-planner>
// widget and the what-if calculator (www/), so that both say the same thing the same way.
//
// Nothing here computes a model figure: every number comes from the Planner (optiserve-core);
// this module names, rounds and subtracts them.

/** The objectives `optimize` takes, with the quantity each optimizes and the limit on it. */
export const OBJECTIVES = Object.freeze([
  Object.freeze({ key: 'latency', label: 'minimum latency', field: 'latency_ms', constraint: 'max_latency_ms' }),
  Object.freeze({ key: 'cost', label: 'minimum cost', field: 'cost_usd_per_million', constraint: 'max_cost_usd_per_million' }),
  Object.freeze({ key: 'accuracy', label: 'maximum accuracy', field: 'accuracy', constraint: 'min_accuracy' }),
]);

/**
 * The three limits of `optimize` (`constraints`): the quantity each bounds, whether from above
 * (`max`) or below (`min`), its unit, its name as a control's label (`title`), and the widget's
 * attribute name.
 */
export const CONSTRAINTS = Object.freeze([
  Object.freeze({
    key: 'max_latency_ms',
    label: 'max latency',
    title: 'Max latency (ms)',
    field: 'latency_ms',
    bound: 'max',
    unit: 'ms',
    attribute: 'max-latency-ms',
  }),
  Object.freeze({
    key: 'max_cost_usd_per_million',
    label: 'max cost',
    title: 'Max cost (USD per million executions)',
    field: 'cost_usd_per_million',
    bound: 'max',
    unit: 'USD per million executions',
    attribute: 'max-cost-usd-per-million',
  }),
  Object.freeze({
    key: 'min_accuracy',
    label: 'min accuracy',
    title: 'Min accuracy score',
    field: 'accuracy',
    bound: 'min',
    unit: 'score',
    attribute: 'min-accuracy',
  }),
]);

/** The figures of an evaluation people compare: name, unit, and which way is better. */
export const QUANTITIES = Object.freeze({
  latency_ms: Object.freeze({ label: 'latency', unit: 'ms', better: 'lower' }),
  p95_ms: Object.freeze({ label: 'p95 latency', unit: 'ms', better: 'lower' }),
  cost_usd_per_million: Object.freeze({ label: 'cost', unit: 'USD per million executions', better: 'lower' }),
  accuracy: Object.freeze({ label: 'accuracy score', unit: '', better: 'higher' }),
  monthly_usd: Object.freeze({ label: 'monthly cost', unit: 'USD per month', better: 'lower' }),
});

/** The constraint entry of `key` (undefined for another key). */
export const constraint = (key) => CONSTRAINTS.find((c) => c.key === key);
/** The objective entry of `key` (undefined for another key). */
export const objective = (key) => OBJECTIVES.find((o) => o.key === key);

const missing = (x) => x === null || x === undefined || Number.isNaN(x);
const MINUS = '\u2212';

/**
 * `x` with `min` to `max` decimals and "," between thousands, as `toLocaleString('en-US')` writes
 * it, without Intl: its first use loads locale data (10–20 ms before the first plan), and
 * `toLocaleString` with options builds a new formatter at every call (about 0.1 ms each).
 */
function grouped(x, min, max = min) {
  const abs = Math.abs(x);
  // Rounded half away from zero on the shortest decimal form of x (as Intl does: 2.675 → 2.68),
  // not on its binary value (as toFixed does: 2.675 → 2.67).
  let text;
  const plain = String(abs);
  if (plain.includes('e')) text = abs.toFixed(max);
  else {
    const digits = String(Math.round(Number(`${plain}e${max}`))).padStart(max + 1, '0');
    text = max > 0 ? `${digits.slice(0, -max)}.${digits.slice(-max)}` : digits;
  }
  if (max > min) text = text.replace(new RegExp(`0{1,${max - min}}$`), '').replace(/\.$/, '');
  const dot = text.indexOf('.');
  const whole = dot < 0 ? text : text.slice(0, dot);
  const sign = x < 0 && Number(text) !== 0 ? '-' : '';
  return sign + whole.replace(/\B(?=(\d{3})+$)/g, ',') + (dot < 0 ? '' : text.slice(dot));
}

/** `x` with exactly `digits` decimals and thousands separators ("5,097.46"); "–" when missing. */
export function number(x, digits = 2) {
  if (missing(x)) return '–';
  const text = grouped(Number(x), digits);
  return text.startsWith('-') ? MINUS + text.slice(1) : text;
}

/** A duration: "5,097.46 ms". */
export const ms = (x) => (missing(x) ? '–' : `${number(x, 2)} ms`);
/** USD with four decimals, as the CLI prints costs per million executions: "$766.2938". */
export const usd = (x, digits = 4) => (missing(x) ? '–' : x < 0 ? `${MINUS}$${number(-x, digits)}` : `$${number(x, digits)}`);
/** A cost per million executions: "$766.2938 per million executions". */
export const perMillion = (x) => (missing(x) ? '–' : `${usd(x)} per million executions`);
/** A cost per million executions, short: "$766.29/M". */
export const perMillionShort = (x) => (missing(x) ? '–' : `${usd(x, 2)}/M`);
/** An amount of money in a month: cents below $10,000, whole dollars above ("$12,345/month"). */
export const monthly = (x) => (missing(x) ? '–' : `${usd(x, Math.abs(x) >= 10_000 ? 0 : 2)}/month`);
/** An accuracy score: "1.8000". */
export const score = (x) => (missing(x) ? '–' : Number(x).toFixed(4));
/** `part` as a percentage of `whole`: "12.3%". */
export const share = (part, whole) => (whole > 0 && !missing(part) ? `${((100 * part) / whole).toFixed(1)}%` : '–');
/** A whole number with separators: "1,000,000". */
export const count = (x) => (missing(x) ? '–' : grouped(Math.round(x), 0));

/** A quantity's value with its unit, for a key of QUANTITIES or a field of an evaluation. */
export function value(key, x) {
  switch (key) {
    case 'latency_ms':
    case 'p95_ms':
      return ms(x);
    case 'cost_usd_per_million':
      return perMillion(x);
    case 'monthly_usd':
      return monthly(x);
    case 'accuracy':
      return score(x);
    default:
      return number(x);
  }
}

/** A constraint's value with its unit: "9,000.00 ms", "$800.0000 per million executions", "1.8000". */
export function limit(key, x) {
  if (key === 'max_latency_ms') return ms(x);
  if (key === 'max_cost_usd_per_million') return perMillion(x);
  return score(x);
}

/** `x` rounded to `digits` significant digits. */
export function significant(x, digits = 6) {
  return Number.parseFloat(Number(x).toPrecision(digits));
}

/**
 * What a screen reader says for a slider's position (`aria-valuetext`): the value rounded for
 * speech, with its unit ("9,000 ms", "$800.00 per million executions", "accuracy score 1.80").
 */
export function valueText(key, x) {
  if (missing(x)) return 'no limit';
  const rounded = significant(x, 4);
  if (key === 'max_latency_ms') return `${grouped(rounded, 0, 3)} ms`;
  if (key === 'max_cost_usd_per_million') return `$${grouped(rounded, 2)} per million executions`;
  return `accuracy score ${grouped(rounded, 2, 4)}`;
}

/** The latency model's name in words. */
export const latencyModel = (model) => (model === 'thesis' ? 'thesis model' : 'branch-aware model');

/** A solution's status in words. */
export const status = (s) => String(s ?? '–').replace('_', ' ');

/**
 * The change of one quantity from `from` to `to`: the difference, the relative change in percent
 * (null from 0), and whether it is better, worse or the same for that quantity.
 */
export function delta(key, from, to) {
  if (missing(from) || missing(to)) return null;
  const change = to - from;
  const percent = from !== 0 ? (100 * change) / Math.abs(from) : null;
  // Differences below a part in 10^9 are rounding, not change.
  const same = Math.abs(change) <= 1e-9 * Math.max(1, Math.abs(from), Math.abs(to));
  const better = QUANTITIES[key]?.better === 'higher' ? change > 0 : change < 0;
  return { from, to, change: same ? 0 : change, percent: same ? 0 : percent, verdict: same ? 'same' : better ? 'better' : 'worse' };
}

/** A relative change with its sign: "+12.3%", "−38.0%", "±0%". */
export function signedPercent(p) {
  if (missing(p)) return '–';
  if (p === 0) return '±0%';
  const digits = Math.abs(p) >= 10 ? 0 : 1;
  const text = Math.abs(p).toFixed(digits);
  if (Number(text) === 0) return p > 0 ? '+<0.1%' : `${MINUS}<0.1%`;
  return `${p > 0 ? '+' : MINUS}${text}%`;
}

/** A difference with its sign in the quantity's unit: "+512.30 ms", "−$123.4567", "+0.0500". */
export function signedValue(key, change) {
  if (missing(change)) return '–';
  const sign = change > 0 ? '+' : change < 0 ? MINUS : '±';
  const abs = Math.abs(change);
  switch (key) {
    case 'latency_ms':
    case 'p95_ms':
      return `${sign}${number(abs, 2)} ms`;
    case 'cost_usd_per_million':
      return `${sign}$${number(abs, 4)}/M`;
    case 'monthly_usd':
      return `${sign}$${number(abs, abs >= 10_000 ? 0 : 2)}/month`;
    default:
      return `${sign}${number(abs, 4)}`;
  }
}

/** A delta in words: "cost −38% ($1,234.5678 → $765.4321 per million executions)". */
export function deltaText(key, d) {
  if (!d) return `${QUANTITIES[key]?.label ?? key}: –`;
  const label = QUANTITIES[key]?.label ?? key;
  if (d.verdict === 'same') return `${label} unchanged (${value(key, d.to)})`;
  const rel = d.percent === null ? signedValue(key, d.change) : signedPercent(d.percent);
  const span = key === 'cost_usd_per_million' ? `${usd(d.from)} → ${perMillion(d.to)}` : `${value(key, d.from)} → ${value(key, d.to)}`;
  return `${label} ${rel} (${span})`;
}

/** Monthly cost (USD) of a cost per million executions at `executions` a month. */
export const monthlyCost = (costPerMillion, executions) =>
  missing(costPerMillion) || missing(executions) ? null : (costPerMillion * executions) / 1_000_000;

/**
 * `candidate` against `base`, two evaluations (`Planner.evaluate` results): the deltas of latency,
 * cost and accuracy, of the p95 latency when both simulations are given (`p95: {base, candidate}`
 * in ms), of the monthly cost at `executionsPerMonth`, and each function's change of memory and
 * variant (with its duration and cost at both).
 */
export function compare(base, candidate, { executionsPerMonth = null, p95 = null } = {}) {
  if (!base || !candidate) return null;
  const functions = Object.entries(candidate.functions).map(([id, to]) => {
    const from = base.functions[id] ?? null;
    return {
      id,
      from,
      to,
      memoryChanged: Boolean(from) && from.memory_mb !== to.memory_mb,
      variantChanged: Boolean(from) && from.variant !== to.variant,
      duration: from ? delta('latency_ms', from.duration_ms, to.duration_ms) : null,
      cost: from ? delta('cost_usd_per_million', from.cost_usd_per_million, to.cost_usd_per_million) : null,
    };
  });
  return {
    latency_ms: delta('latency_ms', base.latency_ms, candidate.latency_ms),
    p95_ms: p95 ? delta('p95_ms', p95.base, p95.candidate) : null,
    cost_usd_per_million: delta('cost_usd_per_million', base.cost_usd_per_million, candidate.cost_usd_per_million),
    accuracy: delta('accuracy', base.accuracy, candidate.accuracy),
    monthly_usd:
      executionsPerMonth > 0
        ? delta('monthly_usd', monthlyCost(base.cost_usd_per_million, executionsPerMonth), monthlyCost(candidate.cost_usd_per_million, executionsPerMonth))
        : null,
    functions,
    changed: functions.filter((f) => f.memoryChanged || f.variantChanged).length,
  };
}

/** One function's change in words: "1,024 → 3,008 MB", "resnet-50 → resnet-101", "unchanged". */
export function changeText(f) {
  if (!f.from) return 'new';
  const parts = [];
  if (f.memoryChanged) parts.push(`${count(f.from.memory_mb)} → ${count(f.to.memory_mb)} MB`);
  if (f.variantChanged) parts.push(`${f.from.variant} → ${f.to.variant}`);
  return parts.length ? parts.join(', ') : 'unchanged';
}

/**
 * Where the bundle's branch and loop probabilities (edges with p < 1) come from: measured from
 * Step Functions execution histories (`basis.source = "measured"`), assumed (uniform, as
 * `workflow import-asl` starts them), or given by the bundle's author (no basis); and the most
 * executions a measurement came from.
 */
export function probabilityBasis(bundle) {
  const counts = { measured: 0, assumed: 0, given: 0, executions: 0 };
  for (const e of bundle?.workflow?.edges ?? []) {
    const source = e.basis?.source;
    if (source === 'measured') {
      counts.measured++;
      counts.executions = Math.max(counts.executions, e.basis.executions ?? 0);
    } else if (source === 'assumed') counts.assumed++;
    else if (e.probability < 1) counts.given++;
  }
  return counts;
}

/** `probabilityBasis` in a sentence. */
export function probabilityBasisText(bundle) {
  const c = probabilityBasis(bundle);
  if (c.measured + c.assumed + c.given === 0) return 'Branch and loop probabilities: none (every edge is taken).';
  const parts = [];
  if (c.measured) parts.push(`${c.measured} measured${c.executions ? ` from ${count(c.executions)} executions` : ''}`);
  if (c.assumed) parts.push(`${c.assumed} assumed, not measured yet`);
  if (c.given) parts.push(`${c.given} given by the bundle`);
  return `Branch and loop probabilities: ${parts.join('; ')}.`;
}

/** A duration model's family in words (a `functionCurves` variant), as `optiserve fit` names it. */
export function modelFamily(v) {
  switch (v.family) {
    case 'table':
      return 'measured table';
    case 'cpu_share':
      return v.parallel_fraction > 0
        ? `CPU share, knee ${v.knee_mb} MB, multi-thread ${v.parallel_fraction.toFixed(2)}`
        : `CPU share, knee ${v.knee_mb} MB`;
    default:
      return 'α+β·e^(−γm)';
  }
}

/** A variant's fit error in words (a `functionCurves` variant's `fit`): "MAPE 2.31%, R² 0.993, 24 samples". */
export function fitText(fit) {
  if (!fit) return '';
  return fit.source === 'bundle'
    ? `MAPE ${fit.mape_percent.toFixed(2)}%, ${fit.r2 == null ? 'no R²' : `R² ${fit.r2.toFixed(3)}`}, ${fit.samples} samples`
    : `MAPE ${fit.mape_percent.toFixed(2)}% over ${fit.samples} warm samples`;
}

/**
 * `n` classes of equal width from `lo` to `hi` for a colour scale, each with its range and a
 * label ("1.80–2.10"), so that a legend can number every colour.
 */
export function classes(lo, hi, n = 5, digits = 2) {
  const top = hi > lo ? hi : lo + 1;
  return Array.from({ length: n }, (_, i) => {
    const from = lo + ((top - lo) * i) / n;
    const to = i === n - 1 ? top : lo + ((top - lo) * (i + 1)) / n;
    return { from, to, label: `${from.toFixed(digits)}–${to.toFixed(digits)}` };
  });
}

/**
 * A Map block of `Planner.structure()` in words: its items and concurrency; for a Distributed
 * Map, its child executions (one per item, or per batch) and their type.
 */
export function mapLabel(b) {
  const at = b.max_concurrency > 0 ? `${b.max_concurrency} at a time` : 'all at once';
  const items = `×${+b.items.toFixed(2)} items`;
  if (!b.distributed) return `map ${items}, ${at}`;
  const runs = b.runs ?? b.items;
  const children = `${+runs.toFixed(2)} ${b.child_execution ?? 'express'} child execution${runs === 1 ? '' : 's'}`;
  const batch = b.batch_items ? ` of ${+b.batch_items.toFixed(2)} items` : '';
  return `Distributed Map ${items}: ${children}${batch}, ${at}`;
}

/**
 * What a state node is, in words: a service state by its service and action (`sns:publish`), a
 * callback's wait, else its kind (`wait state`); with its delay when it has one.
 */
export function stateLabel(s) {
  const what = s.state_kind === 'service' || s.kind === 'service' ? (s.service ?? 'service') : (s.state_kind ?? s.kind) === 'callback' ? 'callback wait' : `${s.state_kind ?? s.kind} state`;
  return s.delay_ms > 0 ? `${what} · ${+s.delay_ms.toFixed(2)} ms` : what;
}
