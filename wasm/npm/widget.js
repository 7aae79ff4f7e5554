// <optiserve-planner>: a drop-in planner for a profile bundle. Importing this module defines the
// element; it loads the WebAssembly module next to it (web/), so one
// `<script type="module" src=".../optiserve/widget.js">` is all a page needs.
//
//   <optiserve-planner src="app3.bundle.json" objective="latency"
//                      max-cost-usd-per-million="800" min-accuracy="1.8"></optiserve-planner>
//
// Attributes: `src` (URL of a bundle), `objective` (latency | cost | accuracy),
// `max-latency-ms`, `max-cost-usd-per-million`, `min-accuracy` (initial limits; empty = none),
// `pareto-node-limit` (search budget of the chart's Pareto front, default 50,000: App3 needs
// under 20,000; a front past it is not charted rather than freezing the page), `latency-model`
// (`branch_aware` or `thesis`; the bundle's when left out; the latency's label names it).
// Properties: `bundle` (a bundle object or JSON text; set it instead of `src`), read-only
// `solution` (the last `optimize` result), `evaluation` (its per-function evaluation) and `front`
// (the Pareto front). Event: `configchange`, detail `{ config, solution, evaluation }`, after every
// new recommendation. Every number comes from the Planner (optiserve-core); the element only
// displays it.

import { Planner } from './web/index.js';

const LIMITS = [
  { key: 'max_latency_ms', attr: 'max-latency-ms', label: 'Max latency (ms)', step: 'any' },
  {
    key: 'max_cost_usd_per_million',
    attr: 'max-cost-usd-per-million',
    label: 'Max cost (USD per million executions)',
    step: 'any',
  },
  { key: 'min_accuracy', attr: 'min-accuracy', label: 'Min accuracy score', step: 'any' },
];

const PARETO_NODE_LIMIT = 50_000;

const OBJECTIVES = [
  ['latency', 'Lowest latency'],
  ['cost', 'Lowest cost'],
  ['accuracy', 'Highest accuracy'],
];

const STYLE = `
:host { display: block; font: inherit; color: inherit; max-width: 56rem; }
:host([hidden]) { display: none; }
* { box-sizing: border-box; }
form { display: flex; flex-wrap: wrap; gap: 0.75rem 1.5rem; align-items: end; margin: 0 0 1rem; }
fieldset { border: 1px solid #8884; border-radius: 6px; margin: 0; padding: 0.5rem 0.75rem; }
legend { font-weight: 600; padding: 0 0.25rem; }
fieldset.objective label { margin-right: 0.75rem; white-space: nowrap; }
.limit { display: flex; flex-direction: column; gap: 0.25rem; }
.limit input { width: 12rem; font: inherit; padding: 0.25rem 0.4rem; }
.hint { font-size: 0.8em; opacity: 0.75; }
input:focus-visible, button:focus-visible { outline: 2px solid #2563eb; outline-offset: 2px; }
.summary { display: grid; grid-template-columns: repeat(4, minmax(8rem, 1fr)); gap: 0.5rem; margin: 0 0 1rem; }
.summary div { border: 1px solid #8884; border-radius: 6px; padding: 0.5rem 0.75rem; }
.summary dt { font-size: 0.8em; opacity: 0.75; }
.summary dd { margin: 0; font-size: 1.15em; font-variant-numeric: tabular-nums; }
[data-status="optimal"] { color: #15803d; }
[data-status="feasible"] { color: #a16207; }
[data-status="infeasible"], [data-status="not_found"] { color: #b91c1c; }
table { border-collapse: collapse; width: 100%; margin: 0 0 1rem; font-variant-numeric: tabular-nums; }
caption { text-align: left; font-weight: 600; padding: 0 0 0.25rem; }
th, td { text-align: left; padding: 0.25rem 0.5rem; border-bottom: 1px solid #8883; }
td.num { text-align: right; }
figure { margin: 0; }
figcaption { font-size: 0.85em; opacity: 0.8; }
svg { width: 100%; height: auto; max-height: 22rem; }
svg .axis { stroke: currentColor; stroke-opacity: 0.5; }
svg text { fill: currentColor; font-size: 11px; }
svg .point { stroke: none; }
svg .point.outside { fill-opacity: 0.2; }
svg .chosen { fill: none; stroke: currentColor; stroke-width: 2; }
.error { color: #b91c1c; white-space: pre-wrap; }
.why { margin: 0 0 1rem; }
.basis { margin: 0 0 1rem; font-size: 0.85em; opacity: 0.8; }
`;

const fmt = (x, digits) =>
  x === null || x === undefined
    ? '–'
    : Number(x).toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

let uid = 0;

function el(tag, attrs = {}, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

const SVG = 'http://www.w3.org/2000/svg';
function svg(tag, attrs = {}, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

/**
 * Where the bundle's branch and loop probabilities (edges with p < 1) come from: measured from
 * Step Functions execution histories (`basis.source = "measured"`), assumed (uniform, as
 * `workflow import-asl` starts them), or given by the bundle's author (no basis).
 */
function probabilityBasis(bundle) {
  let measured = 0, assumed = 0, given = 0, executions = 0;
  for (const e of bundle?.workflow?.edges ?? []) {
    const source = e.basis?.source;
    if (source === 'measured') {
      measured++;
      executions = Math.max(executions, e.basis.executions ?? 0);
    } else if (source === 'assumed') assumed++;
    else if (e.probability < 1) given++;
  }
  if (measured + assumed + given === 0) return 'Branch and loop probabilities: none (every edge is taken).';
  const parts = [];
  if (measured) parts.push(`${measured} measured${executions ? ` from ${executions.toLocaleString('en-US')} executions` : ''}`);
  if (assumed) parts.push(`${assumed} assumed, not measured yet`);
  if (given) parts.push(`${given} given by the bundle`);
  return `Branch and loop probabilities: ${parts.join('; ')}.`;
}

export class OptiservePlanner extends HTMLElement {
  static get observedAttributes() {
    return ['src', 'objective', 'latency-model', ...LIMITS.map((l) => l.attr)];
  }

  #planner = null;
  #bundleModel = 'branch_aware';
  #bundle = null;
  #front = null;
  #solution = null;
  #evaluation = null;
  #loading = 0;
  #requested = null;
  #ui;

  constructor() {
    super();
    const root = this.attachShadow({ mode: 'open' });
    const id = `optiserve-${++uid}`;
    root.append(el('style', {}, STYLE));

    const form = el('form', { part: 'controls' });
    form.addEventListener('submit', (e) => e.preventDefault());
    const objective = el('fieldset', { class: 'objective' });
    objective.append(el('legend', {}, 'Objective'));
    const radios = {};
    for (const [value, label] of OBJECTIVES) {
      const wrap = el('label');
      const input = el('input', { type: 'radio', name: `${id}-objective`, value });
      input.addEventListener('change', () => this.#solve());
      radios[value] = input;
      wrap.append(input, ` ${label}`);
      objective.append(wrap);
    }
    form.append(objective);
    const limits = el('fieldset', { class: 'limits' });
    limits.append(el('legend', {}, 'Constraints (empty = no limit)'));
    const inputs = {};
    const hints = {};
    const row = el('div', { style: 'display:flex;flex-wrap:wrap;gap:0.75rem 1.5rem' });
    for (const l of LIMITS) {
      const box = el('div', { class: 'limit' });
      const input = el('input', {
        type: 'number',
        id: `${id}-${l.attr}`,
        name: l.key,
        step: l.step,
        inputmode: 'decimal',
        'aria-describedby': `${id}-${l.attr}-hint`,
      });
      input.addEventListener('change', () => this.#solve());
      input.addEventListener('keydown', (e) => {
        if (e.key === 'Enter') this.#solve();
      });
      const hint = el('span', { class: 'hint', id: `${id}-${l.attr}-hint` });
      box.append(el('label', { for: input.id }, l.label), input, hint);
      inputs[l.key] = input;
      hints[l.key] = hint;
      row.append(box);
    }
    limits.append(row);
    form.append(limits);

    const summary = el('dl', { class: 'summary', part: 'summary', role: 'status', 'aria-live': 'polite' });
    const fields = {};
    for (const [key, label] of [
      ['status', 'Status'],
      ['latency_ms', 'Latency (ms, expected)'],
      ['cost_usd_per_million', 'Cost (USD per million executions)'],
      ['accuracy', 'Accuracy score'],
    ]) {
      const box = el('div');
      const dd = el('dd', { 'data-field': key }, '–');
      box.append(el('dt', {}, label), dd);
      summary.append(box);
      fields[key] = dd;
    }
    const why = el('p', { class: 'why', part: 'why', hidden: '' });
    const basis = el('p', { class: 'basis', part: 'probabilities' });

    const table = el('table', { part: 'plan' });
    table.append(el('caption', {}, 'Recommended configuration'));
    const head = el('tr');
    for (const h of ['Function', 'Memory (MB)', 'Variant', 'Invocations', 'Duration (ms)', 'Cost (USD / M)']) {
      head.append(el('th', { scope: 'col' }, h));
    }
    const thead = el('thead');
    thead.append(head);
    const tbody = el('tbody');
    table.append(thead, tbody);

    const figure = el('figure', { part: 'chart' });
    const chart = svg('svg', { viewBox: '0 0 640 320', role: 'img' });
    figure.append(
      chart,
      el(
        'figcaption',
        {},
        'Latency–cost Pareto front (colour: accuracy score, light to dark; faded: outside the constraints; ring: recommendation).',
      ),
    );

    const error = el('p', { class: 'error', part: 'error', role: 'alert', hidden: '' });
    root.append(form, error, summary, why, basis, table, figure);
    this.#ui = { radios, inputs, hints, fields, why, basis, tbody, chart, error };
    this.#applyAttributes();
  }

  connectedCallback() {
    const src = this.getAttribute('src');
    if (src && src !== this.#requested && this.#bundle === null) this.#load(src);
  }

  attributeChangedCallback(name, old, value) {
    if (old === value) return;
    if (name === 'src') {
      if (value && value !== this.#requested && this.isConnected) this.#load(value);
      return;
    }
    if (name === 'latency-model') {
      if (this.#planner && this.#applyLatencyModel()) this.#computeFront();
      if (this.#planner) this.#solve();
      return;
    }
    this.#applyAttributes();
    if (this.#planner) this.#solve();
  }

  /** The bundle (object or JSON text). Setting it replaces the planner. */
  get bundle() {
    return this.#bundle;
  }

  set bundle(value) {
    this.#loading++;
    this.#setBundle(value);
  }

  /** The last `optimize` result, or null. */
  get solution() {
    return this.#solution;
  }

  /** The evaluation of the recommended configuration, or null. */
  get evaluation() {
    return this.#evaluation;
  }

  /** The latency–cost–accuracy Pareto front of the bundle, or null. */
  get front() {
    return this.#front;
  }

  /** The current request: `{ objective, constraints }`. */
  get request() {
    const objective =
      Object.entries(this.#ui.radios).find(([, r]) => r.checked)?.[0] ?? 'latency';
    const constraints = {};
    for (const l of LIMITS) {
      const v = this.#ui.inputs[l.key].value.trim();
      if (v !== '' && Number.isFinite(Number(v))) constraints[l.key] = Number(v);
    }
    return { objective, constraints };
  }

  #applyAttributes() {
    const objective = this.getAttribute('objective') ?? 'latency';
    const radio = this.#ui.radios[objective] ?? this.#ui.radios.latency;
    radio.checked = true;
    for (const l of LIMITS) {
      if (this.hasAttribute(l.attr)) this.#ui.inputs[l.key].value = this.getAttribute(l.attr);
    }
  }

  async #load(url) {
    this.#requested = url;
    const ticket = ++this.#loading;
    try {
      const response = await fetch(new URL(url, document.baseURI));
      if (!response.ok) throw new Error(`cannot load ${url}: HTTP ${response.status}`);
      const text = await response.text();
      if (ticket === this.#loading) this.#setBundle(text);
    } catch (e) {
      if (ticket === this.#loading) this.#fail(e);
    }
  }

  #setBundle(value) {
    this.#planner?.free();
    this.#planner = null;
    this.#bundle = value;
    this.#front = null;
    try {
      this.#planner = new Planner(value);
    } catch (e) {
      this.#fail(e);
      return;
    }
    this.#ui.basis.textContent = probabilityBasis(typeof value === 'string' ? JSON.parse(value) : value);
    this.#bundleModel = this.#planner.latencyModel;
    if (!this.#applyLatencyModel()) return;
    this.#computeFront();
    this.#solve();
  }

  /** Sets the planner's latency model from the attribute (the bundle's when absent). */
  #applyLatencyModel() {
    try {
      this.#planner.latencyModel = this.getAttribute('latency-model') || this.#bundleModel;
      return true;
    } catch (e) {
      this.#fail(e);
      return false;
    }
  }

  #computeFront() {
    const limit = Number(this.getAttribute('pareto-node-limit') ?? PARETO_NODE_LIMIT);
    try {
      this.#front = this.#planner.pareto(Number.isInteger(limit) && limit >= 1 ? limit : PARETO_NODE_LIMIT);
    } catch {
      this.#front = null; // too large to chart; planning still works
    }
    this.#showRanges();
  }

  #fail(e) {
    const { error } = this.#ui;
    error.textContent = e instanceof Error ? e.message : String(e);
    error.hidden = false;
  }

  #showRanges() {
    const points = this.#front ?? [];
    for (const l of LIMITS) {
      const hint = this.#ui.hints[l.key];
      const metric = l.key === 'max_latency_ms' ? 'latency_ms' : l.key === 'min_accuracy' ? 'accuracy' : 'cost_usd_per_million';
      if (!points.length) {
        hint.textContent = '';
        continue;
      }
      const values = points.map((p) => p[metric]);
      const digits = metric === 'accuracy' ? 3 : 2;
      hint.textContent = `Pareto range ${fmt(Math.min(...values), digits)} – ${fmt(Math.max(...values), digits)}`;
    }
  }

  #solve() {
    if (!this.#planner) return;
    const { error } = this.#ui;
    let solution;
    let evaluation = null;
    try {
      solution = this.#planner.optimize(this.request);
      if (solution.config) evaluation = this.#planner.evaluate(solution);
    } catch (e) {
      this.#fail(e);
      return;
    }
    error.hidden = true;
    this.#solution = solution;
    this.#evaluation = evaluation;
    this.#render();
    this.dispatchEvent(
      new CustomEvent('configchange', {
        detail: { config: solution.config, solution, evaluation },
        bubbles: true,
        composed: true,
      }),
    );
  }

  #render() {
    const s = this.#solution;
    const { fields, why, tbody } = this.#ui;
    fields.status.textContent = s.status.replace('_', ' ');
    fields.status.dataset.status = s.status;
    fields.status.dataset.value = s.status;
    for (const [key, digits] of [
      ['latency_ms', 2],
      ['cost_usd_per_million', 4],
      ['accuracy', 4],
    ]) {
      fields[key].textContent = fmt(s[key], digits);
      if (s[key] === null) delete fields[key].dataset.value;
      else fields[key].dataset.value = String(s[key]);
    }
    const model = s.latency_model === 'thesis' ? 'thesis model' : 'branch-aware model';
    fields.latency_ms.previousElementSibling.textContent = `Latency (ms, expected; ${model})`;
    fields.latency_ms.dataset.model = s.latency_model;
    why.hidden = !s.infeasible;
    why.textContent = s.infeasible ? s.infeasible.message : '';

    tbody.replaceChildren();
    const functions = this.#evaluation?.functions ?? {};
    for (const [id, f] of Object.entries(functions)) {
      const tr = el('tr', { 'data-function': id });
      tr.append(el('th', { scope: 'row' }, id));
      const cells = [
        ['memory_mb', String(f.memory_mb)],
        ['variant', f.variant],
        ['invocations', fmt(f.invocations, 4)],
        ['duration_ms', fmt(f.duration_ms, 2)],
        ['cost_usd_per_million', fmt(f.cost_usd_per_million, 4)],
      ];
      for (const [key, text] of cells) {
        const td = el('td', { 'data-field': key, 'data-value': String(f[key]) }, text);
        if (key !== 'variant') td.className = 'num';
        tr.append(td);
      }
      tbody.append(tr);
    }
    this.#chart();
  }

  #chart() {
    const { chart } = this.#ui;
    chart.replaceChildren();
    const points = this.#front ?? [];
    if (!points.length) {
      chart.setAttribute('aria-label', 'No Pareto front to show');
      chart.append(svg('text', { x: 16, y: 24 }, 'The Pareto front of this bundle is too large to chart.'));
      return;
    }
    const W = 640, H = 320, L = 64, R = 16, T = 16, B = 40;
    const xs = points.map((p) => p.latency_ms);
    const ys = points.map((p) => p.cost_usd_per_million);
    const as = points.map((p) => p.accuracy);
    const span = (v) => {
      const lo = Math.min(...v), hi = Math.max(...v);
      return [lo, hi > lo ? hi : lo + 1];
    };
    const [x0, x1] = span(xs), [y0, y1] = span(ys), [a0, a1] = span(as);
    const X = (x) => L + ((x - x0) / (x1 - x0)) * (W - L - R);
    const Y = (y) => H - B - ((y - y0) / (y1 - y0)) * (H - T - B);
    const { constraints } = this.request;
    const inside = (p) =>
      (constraints.max_latency_ms === undefined || p.latency_ms <= constraints.max_latency_ms) &&
      (constraints.max_cost_usd_per_million === undefined || p.cost_usd_per_million <= constraints.max_cost_usd_per_million) &&
      (constraints.min_accuracy === undefined || p.accuracy >= constraints.min_accuracy);
    chart.setAttribute(
      'aria-label',
      `Pareto front: ${points.length} configurations, latency ${fmt(x0, 0)} to ${fmt(x1, 0)} ms, cost ${fmt(y0, 2)} to ${fmt(y1, 2)} USD per million executions`,
    );
    chart.append(
      svg('line', { class: 'axis', x1: L, y1: H - B, x2: W - R, y2: H - B }),
      svg('line', { class: 'axis', x1: L, y1: T, x2: L, y2: H - B }),
      svg('text', { x: L, y: H - B + 14 }, fmt(x0, 0)),
      svg('text', { x: W - R, y: H - B + 14, 'text-anchor': 'end' }, fmt(x1, 0)),
      svg('text', { x: (L + W - R) / 2, y: H - 6, 'text-anchor': 'middle' }, 'latency (ms)'),
      svg('text', { x: L - 4, y: H - B, 'text-anchor': 'end' }, fmt(y0, 0)),
      svg('text', { x: L - 4, y: T + 8, 'text-anchor': 'end' }, fmt(y1, 0)),
      svg('text', { x: 12, y: (T + H - B) / 2, transform: `rotate(-90 12 ${(T + H - B) / 2})`, 'text-anchor': 'middle' }, 'cost (USD / M)'),
    );
    for (const p of points) {
      const t = (p.accuracy - a0) / (a1 - a0);
      const light = Math.round(80 - t * 50);
      const c = svg('circle', {
        class: inside(p) ? 'point' : 'point outside',
        cx: X(p.latency_ms).toFixed(1),
        cy: Y(p.cost_usd_per_million).toFixed(1),
        r: 3,
        fill: `hsl(220 70% ${light}%)`,
      });
      c.append(svg('title', {}, `${fmt(p.latency_ms, 1)} ms, $${fmt(p.cost_usd_per_million, 2)} / M, accuracy ${fmt(p.accuracy, 3)}`));
      chart.append(c);
    }
    const s = this.#solution;
    if (s && s.latency_ms !== null) {
      chart.append(svg('circle', { class: 'chosen', cx: X(s.latency_ms).toFixed(1), cy: Y(s.cost_usd_per_million).toFixed(1), r: 7 }));
    }
  }
}

if (!customElements.get('optiserve-planner')) customElements.define('optiserve-planner', OptiservePlanner);
