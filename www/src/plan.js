// The plan panel: what is shown (the recommendation, or a point picked on the Pareto front), its
// figures and what it gains against a baseline (the deployed configuration, or the
// recommendation), the configuration table (cards on a phone), the sticky summary, and the
// sentence a screen reader hears once the result settles. Rendered in the task of the input that
// changed it: nothing here waits for a chart.

import * as fmt from 'optiserve/format';

const $ = (root, sel) => root.querySelector(sel);

/** The plan panel's elements. */
export function planUi(doc) {
  return {
    summary: $(doc, '#plan-summary'),
    shownWhat: $(doc, '#shown-what'),
    status: $(doc, '#status'),
    solverNote: $(doc, '#solver-note'),
    gain: $(doc, '#gain'),
    metric: (k) => $(doc, `#m-${k}`),
    delta: (k) => $(doc, `#d-${k}`),
    note: (k) => $(doc, `#m-${k}-note`),
    why: $(doc, '#why'),
    whyText: $(doc, '#why-text'),
    relax: $(doc, '#relax'),
    source: $(doc, '#config-source'),
    table: $(doc, '#config-table tbody'),
    tableFoot: $(doc, '#config-table tfoot'),
    download: $(doc, '#download'),
    back: $(doc, '#back-to-recommendation'),
    sticky: $(doc, '#sticky-summary'),
  };
}

/** Which model the latency comes from, and what cold starts and approximation add to it. */
export function latencyNote(e) {
  const parts = [fmt.latencyModel(e.latency_model)];
  if (e.cold_start_latency_ms > 0) parts.push(`cold starts ${fmt.ms(e.cold_start_latency_ms)} (${fmt.share(e.cold_start_latency_ms, e.latency_ms)})`);
  if (e.latency_error_bound_ms >= 0.005) parts.push(`exact value at most ${fmt.ms(e.latency_error_bound_ms)} higher`);
  return parts.join(' · ');
}

function setDelta(dd, key, d, against) {
  if (!d) {
    dd.textContent = '';
    delete dd.dataset.verdict;
    return;
  }
  const rel = d.verdict === 'same' ? 'no change' : d.percent === null ? fmt.signedValue(key, d.change) : fmt.signedPercent(d.percent);
  const extra = key === 'accuracy' && d.verdict !== 'same' ? ` (${fmt.signedValue(key, d.change)})` : '';
  const word = d.verdict === 'same' ? '' : d.verdict === 'better' ? ', better' : ', worse';
  dd.textContent = `${rel}${extra} vs ${against}${word}`;
  dd.dataset.verdict = d.verdict;
}

/** The headline: what the configuration on screen gains (or loses) against the baseline. */
export function gainText(p) {
  const c = p.comparison;
  if (!c) return '';
  const against = p.baselineName;
  if (c.changed === 0) {
    return p.shownKind === 'pick'
      ? 'This point is the recommendation.'
      : 'The deployed configuration is already the best under these limits: nothing to change.';
  }
  const short = (key, label) => {
    const d = c[key];
    if (!d) return null;
    if (d.verdict === 'same') return `${label} unchanged`;
    return `${label} ${d.percent === null ? fmt.signedValue(key, d.change) : fmt.signedPercent(d.percent)}`;
  };
  let cost = short('cost_usd_per_million', 'cost');
  if (c.monthly_usd && c.monthly_usd.verdict !== 'same') {
    const saved = -c.monthly_usd.change;
    cost += ` (${saved > 0 ? `${fmt.monthly(saved)} less` : `${fmt.monthly(-saved)} more`} at ${fmt.count(p.executions)} executions a month)`;
  }
  const parts = [cost, short('latency_ms', 'latency'), short('p95_ms', 'p95'), short('accuracy', 'accuracy')].filter(Boolean);
  const n = c.functions.length;
  return `Against ${against}: ${parts.join(', ')}; ${c.changed} of ${n} function${n === 1 ? '' : 's'} change.`;
}

/** Renders the panel for plan `p` (see main.js `planModel`); returns the sentence to announce. */
export function renderPlan(ui, p) {
  const s = p.solution;
  const shown = p.shown;
  const c = p.comparison;
  const against = p.shownKind === 'pick' ? 'recommendation' : 'deployed';
  if (p.shownKind === 'pick') {
    ui.shownWhat.textContent = 'Shown';
    ui.status.textContent = p.pickNumber ? `Pareto point #${p.pickNumber}` : 'a picked Pareto point';
    ui.status.dataset.status = 'picked';
    ui.solverNote.textContent = `picked on the front; the recommendation is ${fmt.status(s.status)}`;
  } else {
    ui.shownWhat.textContent = 'Recommendation';
    ui.status.textContent = fmt.status(s.status);
    ui.status.dataset.status = s.status;
    ui.solverNote.textContent = `exact solver, ${fmt.count(s.evaluations)} evaluations${s.elapsed_ms != null ? `, ${s.elapsed_ms.toFixed(2)} ms` : ''}`;
  }
  const monthlyShown = shown ? fmt.monthlyCost(shown.cost_usd_per_million, p.executions) : null;
  ui.metric('cost').textContent = shown ? fmt.perMillion(shown.cost_usd_per_million) : '–';
  ui.note('cost').textContent =
    shown && shown.cold_start_cost_usd_per_million > 0
      ? `cold starts' INIT: ${fmt.usd(shown.cold_start_cost_usd_per_million)} (${fmt.share(shown.cold_start_cost_usd_per_million, shown.cost_usd_per_million)})`
      : '';
  ui.metric('monthly').textContent = shown ? `${fmt.monthly(monthlyShown)} at ${fmt.count(p.executions)} executions` : '–';
  ui.metric('latency').textContent = shown ? fmt.ms(shown.latency_ms) : '–';
  ui.note('latency').textContent = shown ? latencyNote(shown) : '';
  ui.metric('p95').textContent = !shown ? '–' : p.simulation ? fmt.ms(p.simulation.p95_ms) : 'simulating…';
  ui.note('p95').textContent = p.simulation ? `mean ${fmt.ms(p.simulation.mean_ms)} over ${fmt.count(p.simulation.runs)} simulated executions` : '';
  ui.metric('accuracy').textContent = shown ? fmt.score(shown.accuracy) : '–';
  setDelta(ui.delta('cost'), 'cost_usd_per_million', c?.cost_usd_per_million, against);
  setDelta(ui.delta('monthly'), 'monthly_usd', c?.monthly_usd, against);
  setDelta(ui.delta('latency'), 'latency_ms', c?.latency_ms, against);
  setDelta(ui.delta('p95'), 'p95_ms', c?.p95_ms, against);
  setDelta(ui.delta('accuracy'), 'accuracy', c?.accuracy, against);
  ui.gain.textContent = gainText(p);

  renderWhy(ui, p);
  renderTable(ui, p);
  ui.back.hidden = p.shownKind !== 'pick';
  ui.download.disabled = !shown;

  const head = p.shownKind === 'pick' ? ui.status.textContent : `${fmt.status(s.status)}`;
  ui.sticky.textContent = shown
    ? `${head} · ${fmt.perMillionShort(shown.cost_usd_per_million)} · ${fmt.ms(shown.latency_ms)} · accuracy ${fmt.score(shown.accuracy)}` +
      (c?.cost_usd_per_million && c.cost_usd_per_million.verdict !== 'same' ? ` · cost ${fmt.signedPercent(c.cost_usd_per_million.percent)} vs ${against}` : '')
    : `${head}: no configuration meets the limits`;

  return announcement(p);
}

/**
 * The sentence a screen reader hears once a result settles: what is shown, its figures and the
 * gain (without the p95, which a simulation adds later: the sentence does not change for it).
 */
export function announcement(p) {
  const s = p.solution;
  const shown = p.shown;
  if (!shown) return `${fmt.status(s.status)}: no configuration meets the limits.`;
  const what = p.shownKind === 'pick' ? (p.pickNumber ? `Pareto point #${p.pickNumber}` : 'Picked Pareto point') : `Recommendation, ${fmt.status(s.status)}`;
  const gain = gainText({ ...p, comparison: p.comparison && { ...p.comparison, p95_ms: null } });
  return `${what}: cost ${fmt.perMillion(shown.cost_usd_per_million)}, latency ${fmt.ms(shown.latency_ms)}, accuracy ${fmt.score(shown.accuracy)}. ${gain}`;
}

function renderWhy(ui, p) {
  const s = p.solution;
  if (p.shownKind !== 'pick' && s.status === 'infeasible' && s.infeasible) {
    const inf = s.infeasible;
    ui.why.hidden = false;
    const reach =
      inf.best_reachable === null
        ? 'The other constraints cannot hold together either.'
        : `Best reachable while the other constraints hold: ${fmt.limit(inf.constraint, inf.best_reachable)}.`;
    ui.whyText.textContent = `${fmt.constraint(inf.constraint).label} = ${fmt.limit(inf.constraint, inf.limit)} cannot be met. ${reach}`;
    ui.relax.hidden = inf.best_reachable === null;
    ui.relax.textContent = inf.best_reachable === null ? '' : `Set ${fmt.constraint(inf.constraint).label} to ${fmt.limit(inf.constraint, inf.best_reachable)}`;
    ui.relax.dataset.constraint = inf.constraint;
    ui.relax.dataset.value = inf.best_reachable === null ? '' : String(inf.best_reachable);
  } else if (p.shownKind !== 'pick' && s.status === 'not_found') {
    ui.why.hidden = false;
    ui.whyText.textContent = 'The solver found no configuration (this proves nothing about feasibility).';
    ui.relax.hidden = true;
  } else {
    ui.why.hidden = true;
  }
}

const CELLS = [
  ['function', (f) => f.id],
  ['memory_mb', (f) => String(f.to.memory_mb)],
  ['variant', (f) => f.to.variant],
  ['change', (f) => fmt.changeText(f)],
  ['invocations', (f) => f.to.invocations.toFixed(4)],
  ['duration_ms', (f) => f.to.duration_ms.toFixed(2)],
  ['cost_usd_per_million', (f) => f.to.cost_usd_per_million.toFixed(4)],
  ['share', (f, total) => fmt.share(f.to.cost_usd_per_million, total)],
];
/** Labels of the cells on a phone, where each row is a card. */
const CARD_LABELS = {
  memory_mb: 'memory (MB)',
  variant: 'variant',
  change: 'change',
  invocations: 'NI',
  duration_ms: 'duration (ms)',
  cost_usd_per_million: 'cost (USD/M)',
  share: 'cost share',
};

function renderTable(ui, p) {
  const e = p.shown;
  ui.source.textContent = p.sourceText;
  if (!e) {
    ui.table.replaceChildren();
    ui.tableFoot.replaceChildren();
    return;
  }
  const total = e.cost_usd_per_million;
  const changes = p.comparison?.functions ?? Object.entries(e.functions).map(([id, to]) => ({ id, to, from: null }));
  ui.table.replaceChildren(
    ...changes.map((f) => {
      const tr = document.createElement('tr');
      tr.dataset.function = f.id;
      if (f.memoryChanged || f.variantChanged) tr.dataset.changed = 'true';
      for (const [key, text] of CELLS) {
        const cell = document.createElement(key === 'function' ? 'th' : 'td');
        if (key === 'function') cell.scope = 'row';
        cell.dataset.field = key;
        if (CARD_LABELS[key]) cell.dataset.label = CARD_LABELS[key];
        cell.textContent = text(f, total);
        tr.append(cell);
      }
      return tr;
    }),
  );
  const foot = [];
  const row = (label, value, share) => {
    const tr = document.createElement('tr');
    const th = document.createElement('th');
    th.scope = 'row';
    th.colSpan = 6;
    th.textContent = label;
    const v = document.createElement('td');
    v.dataset.field = 'cost_usd_per_million';
    v.dataset.label = 'cost (USD/M)';
    v.textContent = value;
    const sh = document.createElement('td');
    sh.dataset.field = 'share';
    sh.dataset.label = 'cost share';
    sh.textContent = share;
    tr.append(th, v, sh);
    foot.push(tr);
  };
  if (e.orchestration_cost_usd_per_million > 0)
    row('Step Functions transitions', e.orchestration_cost_usd_per_million.toFixed(4), fmt.share(e.orchestration_cost_usd_per_million, total));
  if (e.cold_start_cost_usd_per_million > 0)
    row("of which cold starts' INIT phases", e.cold_start_cost_usd_per_million.toFixed(4), fmt.share(e.cold_start_cost_usd_per_million, total));
  row('total per million executions', total.toFixed(4), '100%');
  ui.tableFoot.replaceChildren(...foot);
}

/** The plan panel with nothing loaded (a link whose bundle is missing). */
export function renderEmpty(ui) {
  ui.shownWhat.textContent = 'Recommendation';
  ui.status.textContent = '–';
  ui.status.dataset.status = 'none';
  ui.solverNote.textContent = 'no bundle loaded';
  for (const k of ['cost', 'monthly', 'latency', 'p95', 'accuracy']) {
    ui.metric(k).textContent = '–';
    setDelta(ui.delta(k), k, null, '');
  }
  ui.note('cost').textContent = '';
  ui.note('latency').textContent = '';
  ui.note('p95').textContent = '';
  ui.gain.textContent = '';
  ui.why.hidden = true;
  ui.source.textContent = 'none (no bundle loaded)';
  ui.table.replaceChildren();
  ui.tableFoot.replaceChildren();
  ui.download.disabled = true;
  ui.back.hidden = true;
  ui.sticky.textContent = 'No bundle loaded';
}
