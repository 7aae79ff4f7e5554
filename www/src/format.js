// Numbers for people.

const LABELS = {
  max_latency_ms: 'max latency',
  max_cost_usd_per_million: 'max cost',
  min_accuracy: 'min accuracy',
  latency: 'latency',
  cost: 'cost',
  accuracy: 'accuracy',
};
const UNITS = {
  max_latency_ms: 'ms',
  max_cost_usd_per_million: 'USD per million executions',
  min_accuracy: '',
};

export const label = (key) => LABELS[key] ?? key;
export const unit = (key) => UNITS[key] ?? '';

export function ms(x) {
  return x === null || x === undefined ? '–' : `${x.toLocaleString('en-US', { maximumFractionDigits: 2, minimumFractionDigits: 2 })} ms`;
}
export function usd(x) {
  return x === null || x === undefined ? '–' : `$${x.toLocaleString('en-US', { maximumFractionDigits: 4, minimumFractionDigits: 4 })}`;
}
export function score(x) {
  return x === null || x === undefined ? '–' : x.toFixed(4);
}
export function fixed(x, digits) {
  return x === null || x === undefined ? '–' : x.toFixed(digits);
}
/** `part` as a percentage of `whole` ("12.3%"). */
export function share(part, whole) {
  return whole > 0 ? `${((100 * part) / whole).toFixed(1)}%` : '–';
}
/** A constraint value with its unit. */
export function limit(constraint, x) {
  if (constraint === 'max_latency_ms') return ms(x);
  if (constraint === 'max_cost_usd_per_million') return `${usd(x)} per million executions`;
  return score(x);
}
/** A value rounded to `digits` significant digits (for slider positions in the URL). */
export function significant(x, digits = 6) {
  return Number.parseFloat(x.toPrecision(digits));
}
