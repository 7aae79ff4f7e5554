// <optiserve-planner>: a drop-in planner for a profile bundle. Importing this module defines the
// element; it loads the WebAssembly module next to it (web/), so one
// `<script type="module" src=".../optiserve/widget.js">` is all a page needs. It shows the plan,
// its gain against the deployed configuration, the workflow as `core` reduced it (a list: service
// states by service, each site of a reused function, Distributed Maps with their child
// executions) and the Pareto front.
//
//   <optiserve-planner src="app3.bundle.json" objective="latency"
//                      max-cost-usd-per-million="800" min-accuracy="1.8"></optiserve-planner>
//
// Attributes: `src` (URL of a bundle), `objective` (latency | cost | accuracy),
// `max-latency-ms`, `max-cost-usd-per-million`, `min-accuracy` (initial limits; empty = none),
// `executions-per-month` (for the monthly cost; the bundle's `workload` when left out),
// `pareto-node-limit` (search budget of the chart's Pareto front, default 50,000: App3 needs
// under 20,000; a front past it is not charted rather than freezing the page), `latency-model`
// (`branch_aware` or `thesis`; the bundle's when left out; the latency's label names it).
// Properties: `bundle` (a bundle object or JSON text; set it instead of `src`), read-only
// `solution` (the last `optimize` result), `evaluation` (its per-function evaluation), `deployed`
// (the deployed configuration's evaluation), `comparison` (the recommendation against it) and
// `front` (the Pareto front). Event: `configchange`, detail `{ config, solution, evaluation }`,
// after every new recommendation. Every number comes from the Planner (optiserve-core); the
// labels, formats and the comparison are `optiserve/format`'s, as in the what-if calculator.

import * as fmt from './format.js';
import { Planner } from './web/index.js';

const PARETO_NODE_LIMIT = 50_000;
/** How long a typed limit waits for the next keystroke before it is applied. */
const TYPING_PAUSE_MS = 700;
/** How long a result must stay unchanged before it is announced to screen readers. */
const ANNOUNCE_AFTER_MS = 900;
const OBJECTIVE_LABELS = { latency: 'Lowest latency', cost: 'Lowest cost', accuracy: 'Highest accuracy' };
/** The accuracy colour scale of the chart, light to dark, one colour per numbered class. */
const SCALE = ['#c6dbf7', '#8db4ea', '#4f86d6', '#2458a8', '#0f2f66'];

const STYLE = `
:host { display: block; font: inherit; color: inherit; max-width: 56rem; }
:host([hidden]) { display: none; }
* { box-sizing: border-box; }
form { display: flex; flex-wrap: wrap; gap: 0.75rem 1.5rem; align-items: end; margin: 0 0 1rem; }
fieldset { border: 1px solid #8884; border-radius: 6px; margin: 0; padding: 0.5rem 0.75rem; min-width: 0; }
legend { font-weight: 600; padding: 0 0.25rem; }
fieldset.objective label { margin-right: 0.75rem; white-space: nowrap; }
.limits-row { display: flex; flex-wrap: wrap; gap: 0.75rem 1.5rem; }
.limit { display: flex; flex-direction: column; gap: 0.25rem; }
.limit input { width: 12rem; max-width: 100%; font: inherit; padding: 0.25rem 0.4rem; }
.hint { font-size: 0.8em; }
input:focus-visible, button:focus-visible, summary:focus-visible, .frame:focus-visible { outline: 2px solid #2563eb; outline-offset: 2px; }
.summary { display: grid; grid-template-columns: repeat(auto-fit, minmax(9rem, 1fr)); gap: 0.5rem; margin: 0 0 0.5rem; }
.summary div { border: 1px solid #8884; border-radius: 6px; padding: 0.5rem 0.75rem; }
.summary dt { font-size: 0.8em; }
.summary dd { margin: 0; font-size: 1.15em; font-variant-numeric: tabular-nums; }
.summary dd.delta { font-size: 0.8em; }
.summary dd.delta:empty { display: none; }
.delta[data-verdict="better"] { color: #15803d; }
.delta[data-verdict="worse"] { color: #b91c1c; }
[data-status="optimal"] { color: #15803d; }
[data-status="feasible"] { color: #8a5a00; }
[data-status="infeasible"], [data-status="not_found"] { color: #b91c1c; }
.gain { margin: 0 0 1rem; font-weight: 600; }
.gain:empty { display: none; }
.frame { overflow-x: auto; margin: 0 0 1rem; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
caption { text-align: left; font-weight: 600; padding: 0 0 0.25rem; }
th, td { text-align: left; padding: 0.25rem 0.5rem; border-bottom: 1px solid #8883; white-space: nowrap; }
td.num { text-align: right; }
figure { margin: 0; }
figcaption { font-size: 0.85em; }
svg { width: 100%; height: auto; max-height: 22rem; }
svg .axis { stroke: currentColor; stroke-opacity: 0.6; }
svg text { fill: currentColor; font-size: 11px; }
svg .point { stroke: #0006; stroke-width: 0.4; }
svg .point.outside { fill-opacity: 0.25; }
svg .chosen { fill: none; stroke: currentColor; stroke-width: 2; }
.scale { list-style: none; display: flex; flex-wrap: wrap; gap: 0.2rem 0.9rem; padding: 0; margin: 0.25rem 0; font-size: 0.85em; }
.scale li { display: inline-flex; align-items: center; gap: 0.3rem; }
.swatch { display: inline-block; width: 0.8em; height: 0.8em; border-radius: 50%; border: 1px solid #0006; }
details summary { cursor: pointer; margin: 0.3rem 0; }
details .frame { max-height: 20rem; overflow: auto; }
.error { color: #b91c1c; white-space: pre-wrap; }
.why { margin: 0 0 1rem; }
.basis { margin: 0 0 1rem; font-size: 0.85em; }
.workflow { margin: 0 0 1rem; font-size: 0.85em; }
.workflow ol { margin: 0.1rem 0; padding-left: 1.2rem; }
.workflow .site { font-style: italic; }
.workflow .state { color: #334155; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); white-space: nowrap; }
`;

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

/** Makes a frame a keyboard tab stop exactly when its content scrolls. */
function scrollable(frame) {
  const update = () => {
    if (frame.scrollWidth > frame.clientWidth + 1 || frame.scrollHeight > frame.clientHeight + 1) frame.setAttribute('tabindex', '0');
    else frame.removeAttribute('tabindex');
  };
  if (typeof ResizeObserver === 'function') new ResizeObserver(update).observe(frame);
  new MutationObserver(update).observe(frame, { childList: true, subtree: true });
  return update;
}

export class OptiservePlanner extends HTMLElement {
  static get observedAttributes() {
    return ['src', 'objective', 'latency-model', 'executions-per-month', ...fmt.CONSTRAINTS.map((c) => c.attribute)];
  }

  #planner = null;
  #bundleModel = 'branch_aware';
  #bundle = null;
  #front = null;
  #solution = null;
  #evaluation = null;
  #deployed = null;
  #comparison = null;
  #bundleExecutions = null;
  #loading = 0;
  #requested = null;
  #announceTimer = 0;
  #announced = '';
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
    for (const o of fmt.OBJECTIVES) {
      const wrap = el('label');
      const input = el('input', { type: 'radio', name: `${id}-objective`, value: o.key });
      input.addEventListener('change', () => this.#solve());
      radios[o.key] = input;
      wrap.append(input, ` ${OBJECTIVE_LABELS[o.key]}`);
      objective.append(wrap);
    }
    form.append(objective);
    const limits = el('fieldset', { class: 'limits' });
    limits.append(el('legend', {}, 'Constraints (empty = no limit)'));
    const inputs = {};
    const hints = {};
    const row = el('div', { class: 'limits-row' });
    for (const c of fmt.CONSTRAINTS) {
      const box = el('div', { class: 'limit' });
      const input = el('input', {
        type: 'number',
        id: `${id}-${c.attribute}`,
        name: c.key,
        step: 'any',
        inputmode: 'decimal',
        'aria-describedby': `${id}-${c.attribute}-hint`,
      });
      // A typed limit applies on Enter, when the field is left, or after a pause in typing.
      let timer = 0;
      const apply = () => {
        clearTimeout(timer);
        timer = 0;
        this.#solve();
      };
      input.addEventListener('input', () => {
        clearTimeout(timer);
        timer = setTimeout(apply, TYPING_PAUSE_MS);
      });
      input.addEventListener('change', () => timer && apply());
      input.addEventListener('keydown', (e) => {
        if (e.key === 'Enter') apply();
      });
      const hint = el('span', { class: 'hint', id: `${id}-${c.attribute}-hint` });
      box.append(el('label', { for: input.id }, c.title), input, hint);
      inputs[c.key] = input;
      hints[c.key] = hint;
      row.append(box);
    }
    limits.append(row);
    form.append(limits);

    const summary = el('dl', { class: 'summary', part: 'summary' });
    const fields = {};
    const deltas = {};
    for (const [key, label] of [
      ['status', 'Status'],
      ['cost_usd_per_million', 'Cost (USD per million executions)'],
      ['monthly_usd', 'Per month'],
      ['latency_ms', 'Latency (ms, expected)'],
      ['accuracy', 'Accuracy score'],
    ]) {
      const box = el('div', { 'data-box': key });
      const dd = el('dd', { 'data-field': key }, '–');
      box.append(el('dt', {}, label), dd);
      if (key !== 'status') {
        deltas[key] = el('dd', { class: 'delta', 'data-delta': key });
        box.append(deltas[key]);
      }
      summary.append(box);
      fields[key] = dd;
    }
    const gain = el('p', { class: 'gain', part: 'gain' });
    const live = el('p', { class: 'visually-hidden', role: 'status', 'aria-live': 'polite', 'aria-atomic': 'true' });
    const why = el('p', { class: 'why', part: 'why', hidden: '' });
    const basis = el('p', { class: 'basis', part: 'probabilities' });

    const frame = el('div', { class: 'frame', role: 'region', 'aria-labelledby': `${id}-plan-caption` });
    const table = el('table', { part: 'plan' });
    table.append(el('caption', { id: `${id}-plan-caption` }, 'Recommended configuration'));
    const head = el('tr');
    for (const h of ['Function', 'Memory (MB)', 'Variant', 'Change vs deployed', 'Invocations', 'Duration (ms)', 'Cost (USD / M)']) {
      head.append(el('th', { scope: 'col' }, h));
    }
    const thead = el('thead');
    thead.append(head);
    const tbody = el('tbody');
    table.append(thead, tbody);
    frame.append(table);
    scrollable(frame);

    const figure = el('figure', { part: 'chart' });
    const chart = svg('svg', { viewBox: '0 0 640 320', role: 'img' });
    const scale = el('ul', { class: 'scale', 'aria-label': 'Colour scale: accuracy score' });
    const data = el('details');
    const dataFrame = el('div', { class: 'frame', role: 'region', 'aria-label': 'The Pareto front as a table' });
    data.append(el('summary', {}, 'The chart\u2019s data as a table'), dataFrame);
    data.addEventListener('toggle', () => data.open && this.#dataTable());
    scrollable(dataFrame);
    figure.append(
      chart,
      el(
        'figcaption',
        {},
        'Latency–cost Pareto front. Colour: accuracy score, light to dark in the classes below; faded: outside the constraints; ring: the recommendation.',
      ),
      scale,
      data,
    );

    const error = el('p', { class: 'error', part: 'error', role: 'alert', hidden: '' });
    // The workflow as `core` reduced it: functions (each site of a reused one), service states
    // by service, callbacks, waits, and the blocks (a Distributed Map with its child executions).
    const workflow = el('details', { class: 'workflow', part: 'workflow' });
    const workflowSummary = el('summary', {}, 'Workflow');
    const workflowList = el('ol', { class: 'tree' });
    workflow.append(workflowSummary, workflowList);
    root.append(form, error, summary, gain, live, why, basis, workflow, frame, figure);
    this.#ui = { radios, inputs, hints, fields, deltas, gain, live, why, basis, tbody, chart, scale, data, dataFrame, error, workflowSummary, workflowList };
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

  /** The evaluation of the bundle's deployed configuration, or null. */
  get deployed() {
    return this.#deployed;
  }

  /** The recommendation against the deployed configuration (`optiserve/format`'s `compare`), or null. */
  get comparison() {
    return this.#comparison;
  }

  /** The latency–cost–accuracy Pareto front of the bundle, or null. */
  get front() {
    return this.#front;
  }

  /** The current request: `{ objective, constraints }`. */
  get request() {
    const objective = Object.entries(this.#ui.radios).find(([, r]) => r.checked)?.[0] ?? 'latency';
    const constraints = {};
    for (const c of fmt.CONSTRAINTS) {
      const v = this.#ui.inputs[c.key].value.trim();
      if (v !== '' && Number.isFinite(Number(v))) constraints[c.key] = Number(v);
    }
    return { objective, constraints };
  }

  /** Executions per month: the attribute's, else the bundle's workload, else null. */
  get #executions() {
    const attr = Number(this.getAttribute('executions-per-month'));
    if (this.hasAttribute('executions-per-month') && Number.isFinite(attr) && attr > 0) return attr;
    return this.#bundleExecutions;
  }

  #applyAttributes() {
    const objective = this.getAttribute('objective') ?? 'latency';
    const radio = this.#ui.radios[objective] ?? this.#ui.radios.latency;
    radio.checked = true;
    for (const c of fmt.CONSTRAINTS) {
      if (this.hasAttribute(c.attribute)) this.#ui.inputs[c.key].value = this.getAttribute(c.attribute);
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
    this.#deployed = null;
    try {
      this.#planner = new Planner(value);
    } catch (e) {
      this.#fail(e);
      return;
    }
    const parsed = typeof value === 'string' ? JSON.parse(value) : value;
    this.#bundleExecutions = parsed?.workload?.executions_per_month ?? null;
    this.#ui.basis.textContent = fmt.probabilityBasisText(parsed);
    this.#renderWorkflow(this.#planner.structure());
    this.#bundleModel = this.#planner.latencyModel;
    if (!this.#applyLatencyModel()) return;
    this.#computeFront();
    this.#solve();
  }

  /** The workflow tree (`Planner.structure()`) as nested lists, and a summary line. */
  #renderWorkflow(tree) {
    const counts = { functions: new Set(), sites: 0, services: new Set(), maps: 0 };
    const item = (b) => {
      switch (b.kind) {
        case 'sequence':
          return b.items.flatMap(item);
        case 'function': {
          counts.functions.add(b.id);
          if (b.site) counts.sites++;
          const li = el('li', { class: b.site ? 'function site' : 'function', 'data-function': b.id }, b.site ? `${b.id} (again, at ${b.site})` : b.id);
          if (b.site) li.dataset.site = b.site;
          return [li];
        }
        case 'state': {
          if (b.state_kind === 'service') counts.services.add(b.id);
          return [el('li', { class: `state ${b.state_kind}`, 'data-state': b.id, 'data-kind': b.state_kind }, `${b.id}: ${fmt.stateLabel(b)}`)];
        }
        case 'branch':
          return [block('branch', b.arms.map((a) => block(`${+a.probability.toFixed(4)}`, item(a.block))))];
        case 'parallel':
          return [block('parallel', b.arms.map((a) => block('arm', item(a))))];
        case 'loop':
          return [block(`${b.self_loop ? 'self-loop' : 'cycle'} ×${+b.expected_runs.toFixed(2)} runs`, item(b.body))];
        case 'map': {
          counts.maps++;
          const li = block(fmt.mapLabel(b), item(b.body));
          li.className = b.distributed ? 'map distributed' : 'map';
          return [li];
        }
        default:
          return [];
      }
    };
    const block = (label, children) => {
      const li = el('li', {}, label);
      const ol = el('ol');
      ol.append(...children.flat());
      li.append(ol);
      return li;
    };
    this.#ui.workflowList.replaceChildren(...item(tree));
    const parts = [`${counts.functions.size} function${counts.functions.size === 1 ? '' : 's'}`];
    if (counts.sites) parts.push(`${counts.sites} more site${counts.sites === 1 ? '' : 's'} of a reused function`);
    if (counts.services.size) parts.push(`${counts.services.size} service state${counts.services.size === 1 ? '' : 's'}`);
    if (counts.maps) parts.push(`${counts.maps} Map state${counts.maps === 1 ? '' : 's'}`);
    this.#ui.workflowSummary.textContent = `Workflow: ${parts.join(', ')}`;
  }

  /** Sets the planner's latency model from the attribute (the bundle's when absent). */
  #applyLatencyModel() {
    try {
      this.#planner.latencyModel = this.getAttribute('latency-model') || this.#bundleModel;
      this.#deployed = this.#planner.evaluate();
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
    if (this.#ui.data.open) this.#dataTable();
  }

  #fail(e) {
    const { error } = this.#ui;
    error.textContent = e instanceof Error ? e.message : String(e);
    error.hidden = false;
  }

  #showRanges() {
    const points = this.#front ?? [];
    for (const c of fmt.CONSTRAINTS) {
      const hint = this.#ui.hints[c.key];
      if (!points.length) {
        hint.textContent = '';
        continue;
      }
      const values = points.map((p) => p[c.field]);
      const digits = c.field === 'accuracy' ? 3 : 2;
      hint.textContent = `Pareto range ${fmt.number(Math.min(...values), digits)} – ${fmt.number(Math.max(...values), digits)}`;
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
    this.#comparison = fmt.compare(this.#deployed, evaluation, { executionsPerMonth: this.#executions });
    this.#render();
    this.dispatchEvent(
      new CustomEvent('configchange', {
        detail: { config: solution.config, solution, evaluation },
        bubbles: true,
        composed: true,
      }),
    );
  }

  /** Tells screen readers the result once it has stayed the same for a moment. */
  #announce(text) {
    clearTimeout(this.#announceTimer);
    this.#announceTimer = setTimeout(() => {
      if (text !== this.#announced) {
        this.#announced = text;
        this.#ui.live.textContent = text;
      }
    }, ANNOUNCE_AFTER_MS);
  }

  #render() {
    const s = this.#solution;
    const c = this.#comparison;
    const executions = this.#executions;
    const { fields, deltas, why, tbody, gain } = this.#ui;
    fields.status.textContent = fmt.status(s.status);
    fields.status.dataset.status = s.status;
    fields.status.dataset.value = s.status;
    const monthly = fmt.monthlyCost(s.cost_usd_per_million, executions);
    const shown = {
      latency_ms: fmt.ms(s.latency_ms).replace(' ms', ''),
      cost_usd_per_million: fmt.usd(s.cost_usd_per_million),
      monthly_usd: monthly === null ? '–' : `${fmt.monthly(monthly)} at ${fmt.count(executions)} executions`,
      accuracy: fmt.score(s.accuracy),
    };
    for (const key of ['latency_ms', 'cost_usd_per_million', 'accuracy']) {
      fields[key].textContent = shown[key];
      if (s[key] === null) delete fields[key].dataset.value;
      else fields[key].dataset.value = String(s[key]);
    }
    fields.monthly_usd.textContent = shown.monthly_usd;
    fields.monthly_usd.parentElement.hidden = executions === null;
    for (const key of ['latency_ms', 'cost_usd_per_million', 'monthly_usd', 'accuracy']) {
      const d = c?.[key];
      const dd = deltas[key];
      if (!d) {
        dd.textContent = '';
        delete dd.dataset.verdict;
        continue;
      }
      const rel = d.verdict === 'same' ? 'no change' : d.percent === null ? fmt.signedValue(key, d.change) : fmt.signedPercent(d.percent);
      dd.textContent = `${rel} vs deployed${d.verdict === 'same' ? '' : d.verdict === 'better' ? ', better' : ', worse'}`;
      dd.dataset.verdict = d.verdict;
    }
    gain.textContent = !c
      ? ''
      : c.changed === 0
        ? 'The deployed configuration is already the best under these limits.'
        : `Against the deployed configuration: ${[
            fmt.deltaText('cost_usd_per_million', c.cost_usd_per_million),
            fmt.deltaText('latency_ms', c.latency_ms),
            fmt.deltaText('accuracy', c.accuracy),
          ].join('; ')}. ${c.changed} of ${c.functions.length} functions change.`;
    const model = fmt.latencyModel(s.latency_model);
    fields.latency_ms.previousElementSibling.textContent = `Latency (ms, expected; ${model})`;
    fields.latency_ms.dataset.model = s.latency_model;
    why.hidden = !s.infeasible;
    why.textContent = s.infeasible ? s.infeasible.message : '';

    tbody.replaceChildren();
    for (const f of c?.functions ?? []) {
      const tr = el('tr', { 'data-function': f.id });
      tr.append(el('th', { scope: 'row' }, f.id));
      const cells = [
        ['memory_mb', String(f.to.memory_mb), f.to.memory_mb],
        ['variant', f.to.variant, f.to.variant],
        ['change', fmt.changeText(f), fmt.changeText(f)],
        ['invocations', fmt.number(f.to.invocations, 4), f.to.invocations],
        ['duration_ms', fmt.number(f.to.duration_ms, 2), f.to.duration_ms],
        ['cost_usd_per_million', fmt.number(f.to.cost_usd_per_million, 4), f.to.cost_usd_per_million],
      ];
      for (const [key, text, value] of cells) {
        const td = el('td', { 'data-field': key, 'data-value': String(value) }, text);
        if (key !== 'variant' && key !== 'change') td.className = 'num';
        tr.append(td);
      }
      tbody.append(tr);
    }
    this.#chart();
    this.#announce(
      s.config
        ? `${fmt.status(s.status)}: cost ${fmt.perMillion(s.cost_usd_per_million)}, latency ${fmt.ms(s.latency_ms)}, accuracy ${fmt.score(s.accuracy)}. ${gain.textContent}`
        : `${fmt.status(s.status)}. ${why.textContent}`,
    );
  }

  #dataTable() {
    const points = this.#front ?? [];
    const { dataFrame } = this.#ui;
    if (!points.length) {
      dataFrame.replaceChildren(el('p', {}, 'No Pareto front to show.'));
      return;
    }
    const table = el('table');
    table.append(el('caption', {}, `Pareto front: ${fmt.count(points.length)} configurations`));
    const head = el('tr');
    for (const h of ['#', 'Latency (ms)', 'Cost (USD / M)', 'Accuracy score']) head.append(el('th', { scope: 'col' }, h));
    const thead = el('thead');
    thead.append(head);
    const tbody = el('tbody');
    points.forEach((p, i) => {
      const tr = el('tr');
      tr.append(
        el('th', { scope: 'row' }, String(i + 1)),
        el('td', { class: 'num' }, fmt.number(p.latency_ms, 2)),
        el('td', { class: 'num' }, fmt.number(p.cost_usd_per_million, 4)),
        el('td', { class: 'num' }, fmt.score(p.accuracy)),
      );
      tbody.append(tr);
    });
    table.append(thead, tbody);
    dataFrame.replaceChildren(table);
  }

  #chart() {
    const { chart, scale } = this.#ui;
    chart.replaceChildren();
    const points = this.#front ?? [];
    if (!points.length) {
      chart.setAttribute('aria-label', 'No Pareto front to show');
      chart.append(svg('text', { x: 16, y: 24 }, 'The Pareto front of this bundle is too large to chart.'));
      scale.replaceChildren();
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
    const classes = fmt.classes(a0, a1, SCALE.length);
    const colour = (a) => SCALE[Math.min(SCALE.length - 1, Math.max(0, classes.findIndex((k) => a <= k.to)))];
    const X = (x) => L + ((x - x0) / (x1 - x0)) * (W - L - R);
    const Y = (y) => H - B - ((y - y0) / (y1 - y0)) * (H - T - B);
    const { constraints } = this.request;
    const inside = (p) =>
      (constraints.max_latency_ms === undefined || p.latency_ms <= constraints.max_latency_ms) &&
      (constraints.max_cost_usd_per_million === undefined || p.cost_usd_per_million <= constraints.max_cost_usd_per_million) &&
      (constraints.min_accuracy === undefined || p.accuracy >= constraints.min_accuracy);
    chart.setAttribute(
      'aria-label',
      `Pareto front: ${points.length} configurations, latency ${fmt.number(x0, 0)} to ${fmt.number(x1, 0)} ms, cost ${fmt.number(y0, 2)} to ${fmt.number(y1, 2)} USD per million executions, accuracy ${fmt.number(a0, 2)} to ${fmt.number(a1, 2)}; the table below lists every point`,
    );
    chart.append(
      svg('line', { class: 'axis', x1: L, y1: H - B, x2: W - R, y2: H - B }),
      svg('line', { class: 'axis', x1: L, y1: T, x2: L, y2: H - B }),
      svg('text', { x: L, y: H - B + 14 }, fmt.number(x0, 0)),
      svg('text', { x: W - R, y: H - B + 14, 'text-anchor': 'end' }, fmt.number(x1, 0)),
      svg('text', { x: (L + W - R) / 2, y: H - 6, 'text-anchor': 'middle' }, 'latency (ms)'),
      svg('text', { x: L - 4, y: H - B, 'text-anchor': 'end' }, fmt.number(y0, 0)),
      svg('text', { x: L - 4, y: T + 8, 'text-anchor': 'end' }, fmt.number(y1, 0)),
      svg('text', { x: 12, y: (T + H - B) / 2, transform: `rotate(-90 12 ${(T + H - B) / 2})`, 'text-anchor': 'middle' }, 'cost (USD / M)'),
    );
    for (const p of points) {
      const c = svg('circle', {
        class: inside(p) ? 'point' : 'point outside',
        cx: X(p.latency_ms).toFixed(1),
        cy: Y(p.cost_usd_per_million).toFixed(1),
        r: 3,
        fill: colour(p.accuracy),
      });
      c.append(svg('title', {}, `${fmt.number(p.latency_ms, 1)} ms, $${fmt.number(p.cost_usd_per_million, 2)} / M, accuracy ${fmt.number(p.accuracy, 3)}`));
      chart.append(c);
    }
    const s = this.#solution;
    if (s && s.latency_ms !== null) {
      chart.append(svg('circle', { class: 'chosen', cx: X(s.latency_ms).toFixed(1), cy: Y(s.cost_usd_per_million).toFixed(1), r: 7 }));
    }
    scale.replaceChildren(
      ...classes.map((k, i) => {
        const li = el('li');
        const swatch = el('span', { class: 'swatch', 'aria-hidden': 'true' });
        swatch.style.background = SCALE[i];
        li.append(swatch, `accuracy ${k.label}`);
        return li;
      }),
    );
  }
}

if (!customElements.get('optiserve-planner')) customElements.define('optiserve-planner', OptiservePlanner);
