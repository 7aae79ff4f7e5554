// The what-if calculator: load a bundle (examples, file picker, drag and drop, a same-origin URL,
// or the artifact's workflow spec), plan under constraints, explore the trade-offs, download the
// chosen configuration. Everything runs here, in the browser, through the `optiserve` package.

import { Planner, importOptiserveSpec } from 'optiserve';
import { durationChart, paretoChart, whatIfChart } from './charts.js';
import { draw, layout } from './diagram.js';
import * as fmt from './format.js';
import { edgeBasisText, edgeProvenance, probabilityBasisText, simulationPanel } from './panels.js';
import {
  CONSTRAINTS,
  OBJECTIVE_CONSTRAINT,
  OBJECTIVE_FIELD,
  decodeView,
  encodeView,
  linspace,
  sweepAxes,
} from './state.js';
import './style.css';
import EMBEDDED_EXAMPLES from 'virtual:optiserve-examples';

const $ = (sel) => document.querySelector(sel);
/** Search nodes the exact front may take (App3's needs about 15,000; beyond, it takes seconds). */
const PARETO_NODE_LIMIT = 20_000;
/** The grid of exact optimizations that samples a front too large to enumerate. */
const SAMPLED_FRONT = { latency: 40, accuracy: 10 };
const STORAGE_PREFIX = 'optiserve-www:bundle:';

/** Everything about the bundle on screen; replaced as a whole when another bundle loads. */
let app = null;
/** The view (what the URL fragment holds). */
let view = decodeView(location.hash);

const ui = {
  error: $('#load-error'),
  summary: $('#bundle-summary'),
  example: $('#example'),
  file: $('#file'),
  drop: $('#drop-zone'),
  objective: $('#objective'),
  latencyModel: $('#latency-model'),
  status: $('#status'),
  why: $('#why'),
  metrics: $('#metrics'),
  table: $('#config-table tbody'),
  tableFoot: $('#config-table tfoot'),
  source: $('#config-source'),
  download: $('#download'),
  back: $('#back-to-recommendation'),
  copy: $('#copy-link'),
  diagram: $('#diagram'),
  structure: $('#structure'),
  whatIfX: $('#whatif-x'),
  whatIfSteps: $('#whatif-steps'),
  whatIfLines: $('#whatif-lines'),
  whatIfInfo: $('#whatif-info'),
  paretoInfo: $('#pareto-info'),
  paretoIndex: $('#pareto-index'),
  paretoPick: $('#pareto-pick'),
  fn: $('#et-function'),
  etInfo: $('#et-info'),
};

const charts = {
  whatIf: whatIfChart($('#whatif-chart')),
  pareto: paretoChart($('#pareto-chart'), (i) => pickPareto(i)),
  durations: durationChart($('#et-chart')),
};
const simulation = simulationPanel($('#simulation'));

// ---------------------------------------------------------------------------------------------
// Loading

/** Reads JSON text as a bundle, or as the artifact's workflow spec; throws the package's error. */
export function readInput(text) {
  let value;
  try {
    value = JSON.parse(text);
  } catch {
    // Not JSON: let the package say where (`invalid JSON at line L, column C`).
    new Planner(text);
    throw new Error('invalid JSON');
  }
  const isSpec =
    value && typeof value === 'object' && !('schema' in value) && Array.isArray(value.edges) && Array.isArray(value.functions);
  if (isSpec) {
    let bundle;
    try {
      bundle = importOptiserveSpec(text);
    } catch (e) {
      throw new Error(`(read as an optiserve workflow spec) ${e.message}`);
    }
    return { bundle, planner: new Planner(bundle), kind: 'workflow spec' };
  }
  return { bundle: value, planner: new Planner(text), kind: 'bundle' };
}

function showError(message) {
  ui.error.textContent = message;
  ui.error.hidden = !message;
}

/** Loads text from `name`; on error the previous bundle and view stay as they were. */
function loadText(text, name, source, pendingView = null) {
  let input;
  try {
    input = readInput(text);
  } catch (e) {
    showError(`${name}: ${e.message}`);
    return false;
  }
  showError('');
  const previous = app;
  try {
    setBundle(input, name, source, pendingView);
  } catch (e) {
    showError(`${name}: ${e.message}`);
    if (previous) {
      input.planner.free();
      app = previous;
    }
    return false;
  }
  if (previous && previous.planner !== app.planner) previous.planner.free();
  return true;
}

/** Two 32-bit FNV-1a hashes of the text (different seeds), as 16 hex digits: names an upload in links. */
function textHash(text) {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x01000193) ^ (b >>> 15);
  }
  return (a >>> 0).toString(16).padStart(8, '0') + (b >>> 0).toString(16).padStart(8, '0');
}

async function loadFile(file) {
  const text = await file.text();
  // Uploaded bundles are kept in this browser so that a link to the view works here again.
  const source = `local:${textHash(text)}`;
  const ok = loadText(text, file.name, source);
  if (ok) {
    try {
      localStorage.setItem(STORAGE_PREFIX + source.slice(6), JSON.stringify({ name: file.name, text }));
    } catch {
      ui.summary.append(' (too large to keep in this browser: a link to this view needs the file uploaded again)');
    }
  }
}

async function loadSource(source, pendingView = null) {
  const [kind, rest] = [source.slice(0, source.indexOf(':')), source.slice(source.indexOf(':') + 1)];
  if (kind === 'local') {
    const saved = localStorage.getItem(STORAGE_PREFIX + rest);
    if (!saved) {
      showError(
        'This link refers to a bundle that was uploaded in another browser: upload the same file to see the view.',
      );
      pendingLocal = { source, view: pendingView };
      return false;
    }
    const { name, text } = JSON.parse(saved);
    return loadText(text, name, source, pendingView);
  }
  const path = kind === 'example' ? `examples/${rest}${rest.endsWith('.json') ? '' : '.bundle.json'}` : rest;
  if (kind === 'example' && EMBEDDED_EXAMPLES) {
    // The single-file build (opened from file://, where nothing can be fetched) carries them.
    const file = path.split('/').pop();
    if (!Object.hasOwn(EMBEDDED_EXAMPLES, file)) {
      showError(`${path}: no such example`);
      return false;
    }
    return loadText(EMBEDDED_EXAMPLES[file], file, source, pendingView);
  }
  let url;
  try {
    url = new URL(path, location.href);
  } catch {
    showError(`${path}: not a URL`);
    return false;
  }
  if (url.origin !== location.origin) {
    showError(`${path}: only bundles from this site can be loaded by URL (nothing leaves the browser)`);
    return false;
  }
  let text;
  try {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    text = await response.text();
  } catch (e) {
    showError(`${path}: could not be fetched (${e.message})`);
    return false;
  }
  return loadText(text, path.split('/').pop(), source, pendingView);
}
let pendingLocal = null;

// ---------------------------------------------------------------------------------------------
// The bundle

/** Slider ranges from the extremes the exact solver finds. */
function ranges(planner, report, deployed) {
  const best = (objective) => planner.optimize({ objective });
  const fastest = best('latency');
  const cheapest = best('cost');
  const accurate = best('accuracy');
  const pad = (lo, hi) => [lo, hi > lo ? hi : lo + Math.max(1, Math.abs(lo) * 0.1)];
  return {
    max_latency_ms: pad(fastest.latency_ms, Math.max(cheapest.latency_ms, accurate.latency_ms, deployed.latency_ms)),
    max_cost_usd_per_million: pad(
      cheapest.cost_usd_per_million,
      Math.max(fastest.cost_usd_per_million, accurate.cost_usd_per_million, deployed.cost_usd_per_million),
    ),
    min_accuracy: pad(report.accuracy_range[0], report.accuracy_range[1]),
  };
}

function setBundle(input, name, source, pendingView) {
  const { planner, bundle, kind } = input;
  // The latency model a link asks for, else the bundle's (a new bundle starts from its own).
  const wanted = pendingView ? pendingView.model : view.source === source ? view.model : null;
  const bundleModel = planner.latencyModel;
  if (wanted) planner.latencyModel = wanted;
  const report = planner.validate();
  const tree = planner.structure();
  const deployed = planner.evaluate();
  const next = {
    planner,
    bundleModel,
    bundle,
    name,
    kind,
    source,
    report,
    deployed,
    ranges: ranges(planner, report, deployed),
    laid: layout(bundle, tree),
    front: null,
    curves: new Map(),
    solution: null,
    evaluation: null,
  };
  app = next;
  if (pendingView) {
    view = { ...pendingView, source };
  } else if (view.source !== source) {
    // A new bundle: keep the objective, reset what depends on the bundle.
    view = { ...view, source, limits: { max_latency_ms: null, max_cost_usd_per_million: null, min_accuracy: null }, fn: null, pick: null, model: null };
  }
  if (view.fn && !bundle.functions.some((f) => f.id === view.fn)) view.fn = null;
  ui.latencyModel.value = planner.latencyModel;
  ui.summary.textContent =
    `${bundle.name ?? name} (${kind}${kind === 'bundle' ? '' : ', imported'}): ${report.functions} functions, ` +
    `${report.configurations.toLocaleString('en-US')} configurations, accuracy score ${fmt.score(report.accuracy_range[0])}–${fmt.score(report.accuracy_range[1])}`;
  ui.structure.textContent = report.structure;
  $('#probability-basis').textContent = probabilityBasisText(bundle);
  ui.example.querySelector('option[data-upload]')?.remove();
  if (source.startsWith('example:')) {
    ui.example.value = source.slice(8);
  } else {
    const other = new Option(`${name} (${source.startsWith('local:') ? 'uploaded' : 'from this site'})`, '', true, true);
    other.dataset.upload = 'true';
    other.disabled = true;
    ui.example.prepend(other);
    ui.example.value = '';
  }
  setupControls();
  ui.fn.replaceChildren(...bundle.functions.map((f) => new Option(`${f.id} (${f.variants.length} variant${f.variants.length > 1 ? 's' : ''})`, f.id)));
  ui.fn.value = view.fn ?? defaultFunction(bundle);
  computeFront();
  replan();
  renderWhatIf();
}

function defaultFunction(bundle) {
  const withSamples = bundle.functions.find((f) => f.variants.some((v) => v.samples?.length));
  const ml = bundle.functions.find((f) => f.variants.length > 1);
  return (withSamples ?? ml ?? bundle.functions[0]).id;
}

// ---------------------------------------------------------------------------------------------
// Controls

function constraintRow(c) {
  return {
    on: $(`#${c}-on`),
    range: $(`#${c}-range`),
    number: $(`#${c}-number`),
  };
}

function setupControls() {
  ui.objective.value = view.objective;
  for (const c of CONSTRAINTS) {
    const row = constraintRow(c);
    const [lo, hi] = app.ranges[c];
    const step = (hi - lo) / 200;
    row.range.min = String(lo);
    row.range.max = String(hi);
    row.range.step = String(step);
    row.number.step = String(fmt.significant(step, 2));
    const v = view.limits[c];
    row.on.checked = v !== null;
    row.range.value = String(v ?? (c === 'min_accuracy' ? lo : hi));
    row.number.value = v === null ? '' : String(v);
    row.range.disabled = v === null;
    $(`#${c}-range-info`).textContent = `${fmt.limit(c, lo)} – ${fmt.limit(c, hi)}`;
  }
  ui.whatIfSteps.value = String(view.steps);
  ui.whatIfLines.value = String(view.lines);
  refreshWhatIfAxes();
}

function refreshWhatIfAxes() {
  const axes = sweepAxes(view.objective, view.whatIfX);
  ui.whatIfX.replaceChildren(
    ...CONSTRAINTS.filter((c) => c !== OBJECTIVE_CONSTRAINT[view.objective]).map((c) => new Option(fmt.label(c), c)),
  );
  ui.whatIfX.value = axes.x;
}

function onConstraintInput(c, from) {
  const row = constraintRow(c);
  if (from === 'on') {
    if (row.on.checked) {
      view.limits[c] = fmt.significant(Number(row.range.value));
      row.number.value = String(view.limits[c]);
    } else {
      view.limits[c] = null;
      row.number.value = '';
    }
    row.range.disabled = !row.on.checked;
  } else if (from === 'range') {
    view.limits[c] = fmt.significant(Number(row.range.value));
    row.number.value = String(view.limits[c]);
  } else {
    const text = row.number.value.trim();
    const x = Number(text);
    if (text === '') {
      view.limits[c] = null;
    } else if (Number.isFinite(x)) {
      view.limits[c] = x;
      row.range.value = String(x);
    } else {
      return;
    }
    row.on.checked = view.limits[c] !== null;
    row.range.disabled = !row.on.checked;
  }
  view.pick = null;
  replan();
  if (c === OBJECTIVE_CONSTRAINT[view.objective]) renderWhatIf();
}

for (const c of CONSTRAINTS) {
  const row = constraintRow(c);
  row.on.addEventListener('change', () => app && onConstraintInput(c, 'on'));
  row.range.addEventListener('input', () => app && onConstraintInput(c, 'range'));
  row.number.addEventListener('input', () => app && onConstraintInput(c, 'number'));
}
/** Switches the planner to `model` (`null`: the bundle's) and recomputes what depends on it. */
function useLatencyModel(model) {
  app.planner.latencyModel = model ?? app.bundleModel;
  ui.latencyModel.value = app.planner.latencyModel;
  // Every latency depends on the model: the deployed figures, the sliders' ranges, the front.
  app.deployed = app.planner.evaluate();
  app.ranges = ranges(app.planner, app.report, app.deployed);
  app.front = null;
}

ui.latencyModel.addEventListener('change', () => {
  if (!app) return;
  view.model = ui.latencyModel.value === app.bundleModel ? null : ui.latencyModel.value;
  view.pick = null;
  useLatencyModel(view.model);
  setupControls();
  computeFront();
  replan();
  renderWhatIf();
});
ui.objective.addEventListener('change', () => {
  if (!app) return;
  view.objective = ui.objective.value;
  view.pick = null;
  refreshWhatIfAxes();
  replan();
  renderWhatIf();
});
ui.whatIfX.addEventListener('change', () => {
  view.whatIfX = ui.whatIfX.value;
  renderWhatIf();
  saveView();
});
for (const input of [ui.whatIfSteps, ui.whatIfLines]) {
  input.addEventListener('change', () => {
    const steps = Number(ui.whatIfSteps.value);
    const lines = Number(ui.whatIfLines.value);
    if (!(Number.isInteger(steps) && steps >= 2 && steps <= 200 && Number.isInteger(lines) && lines >= 1 && lines <= 20)) {
      ui.whatIfInfo.textContent = 'Points per line: 2 to 200; lines: 1 to 20.';
      return;
    }
    view.steps = steps;
    view.lines = lines;
    renderWhatIf();
    saveView();
  });
}
ui.fn.addEventListener('change', () => {
  view.fn = ui.fn.value;
  renderDurations();
  saveView();
});
ui.example.addEventListener('change', () => loadSource(`example:${ui.example.value}`).then(saveView));
ui.file.addEventListener('change', async () => {
  const file = ui.file.files?.[0];
  if (file) await loadUpload(file);
  ui.file.value = '';
});
ui.back.addEventListener('click', () => {
  view.pick = null;
  replan();
});
ui.paretoPick.addEventListener('click', () => {
  const i = Number(ui.paretoIndex.value) - 1;
  if (app?.front && Number.isInteger(i) && i >= 0 && i < app.front.length) pickPareto(i);
});
ui.download.addEventListener('click', downloadConfig);
ui.copy.addEventListener('click', async () => {
  saveView(true);
  try {
    await navigator.clipboard.writeText(location.href);
    ui.copy.textContent = 'Link copied';
  } catch {
    ui.copy.textContent = 'The address bar has the link';
  }
  setTimeout(() => (ui.copy.textContent = 'Copy link to this view'), 2000);
});

async function loadUpload(file) {
  const pending = pendingLocal;
  await loadFile(file);
  if (pending && app && app.source === pending.source && pending.view) {
    // The link's bundle arrived: show the link's view.
    view = { ...pending.view, source: app.source };
    setupControls();
    ui.fn.value = view.fn ?? defaultFunction(app.bundle);
    replan();
    renderWhatIf();
  }
  pendingLocal = null;
  saveView();
}

// Drag and drop: anywhere on the page; the drop zone shows where.
let dragDepth = 0;
document.addEventListener('dragenter', (e) => {
  if (![...(e.dataTransfer?.types ?? [])].includes('Files')) return;
  dragDepth++;
  ui.drop.classList.add('dragging');
});
document.addEventListener('dragleave', () => {
  dragDepth = Math.max(0, dragDepth - 1);
  if (dragDepth === 0) ui.drop.classList.remove('dragging');
});
document.addEventListener('dragover', (e) => e.preventDefault());
document.addEventListener('drop', (e) => {
  e.preventDefault();
  dragDepth = 0;
  ui.drop.classList.remove('dragging');
  const file = e.dataTransfer?.files?.[0];
  if (file) loadUpload(file);
});

// ---------------------------------------------------------------------------------------------
// Planning

function request() {
  return { objective: view.objective, constraints: { ...view.limits } };
}

function replan() {
  if (!app) return;
  const solution = app.planner.optimize(request());
  app.solution = solution;
  let config = null;
  let origin = '';
  if (view.pick) {
    try {
      app.evaluation = app.planner.evaluate(view.pick);
      config = view.pick;
      origin = 'picked on the Pareto front';
    } catch (e) {
      view.pick = null;
      showError(`The configuration in the link does not fit this bundle: ${e.message}`);
    }
  }
  if (!config && solution.config) {
    app.evaluation = app.planner.evaluate(solution.config);
    config = solution.config;
    origin = `recommended (${solution.status})`;
  }
  if (!config) {
    app.evaluation = null;
    origin = 'none: no configuration meets the constraints';
  }
  app.config = config;
  renderStatus(solution);
  renderTable(origin);
  draw(ui.diagram, app.laid, app.evaluation ?? app.deployed, { provenance: edgeProvenance, describe: edgeBasisText });
  ui.diagram.setAttribute(
    'aria-label',
    `Workflow of ${app.bundle.name ?? app.name}: ${app.report.structure}. ${app.evaluation ? 'Memory and variant per function as in the table.' : 'Memory and variant as deployed.'}`,
  );
  renderPareto();
  renderDurations();
  markWhatIf();
  app.simulation = simulation.render(app.planner, config);
  $('#m-p95').textContent = app.simulation
    ? `${fmt.ms(app.simulation.p95_ms)} (mean ${fmt.ms(app.simulation.mean_ms)}, ${app.simulation.runs.toLocaleString('en-US')} runs)`
    : '–';
  saveView();
}

function renderStatus(s) {
  const solverNote = `exact solver, ${s.evaluations.toLocaleString('en-US')} evaluations${s.elapsed_ms != null ? `, ${s.elapsed_ms.toFixed(2)} ms` : ''}`;
  ui.status.textContent = `${s.status}`;
  ui.status.dataset.status = s.status;
  $('#solver-note').textContent = solverNote;
  const shown = app.evaluation;
  $('#m-latency').textContent = shown ? fmt.ms(shown.latency_ms) : '–';
  $('#m-latency-note').textContent = shown ? latencyNote(shown) : '';
  $('#m-cost').textContent = shown ? `${fmt.usd(shown.cost_usd_per_million)} per million executions` : '–';
  $('#m-cost-note').textContent =
    shown && shown.cold_start_cost_usd_per_million > 0
      ? `cold starts' INIT: ${fmt.usd(shown.cold_start_cost_usd_per_million)} (${fmt.share(shown.cold_start_cost_usd_per_million, shown.cost_usd_per_million)})`
      : '';
  $('#m-accuracy').textContent = shown ? fmt.score(shown.accuracy) : '–';
  if (s.status === 'infeasible' && s.infeasible) {
    const inf = s.infeasible;
    ui.why.hidden = false;
    const reach =
      inf.best_reachable === null
        ? 'The other constraints cannot hold together either.'
        : `Best reachable while the other constraints hold: ${fmt.limit(inf.constraint, inf.best_reachable)}.`;
    $('#why-text').textContent = `${fmt.label(inf.constraint)} = ${fmt.limit(inf.constraint, inf.limit)} cannot be met. ${reach}`;
    const relax = $('#relax');
    relax.hidden = inf.best_reachable === null;
    relax.textContent = `Set ${fmt.label(inf.constraint)} to ${fmt.limit(inf.constraint, inf.best_reachable)}`;
    relax.onclick = () => {
      const row = constraintRow(inf.constraint);
      // Just past the reachable value, so rounding cannot keep it infeasible.
      const nudge = inf.constraint === 'min_accuracy' ? -1e-9 : 1e-9;
      row.number.value = String(inf.best_reachable * (1 + (inf.best_reachable >= 0 ? nudge : -nudge)));
      onConstraintInput(inf.constraint, 'number');
    };
  } else if (s.status === 'not_found') {
    ui.why.hidden = false;
    $('#why-text').textContent = 'The solver found no configuration (this proves nothing about feasibility).';
    $('#relax').hidden = true;
  } else {
    ui.why.hidden = true;
  }
}

/** Which model the latency comes from, and what cold starts and approximation add to it. */
function latencyNote(e) {
  const parts = [e.latency_model === 'thesis' ? 'thesis model' : 'branch-aware model'];
  if (e.cold_start_latency_ms > 0) {
    parts.push(`cold starts ${fmt.ms(e.cold_start_latency_ms)} (${fmt.share(e.cold_start_latency_ms, e.latency_ms)})`);
  }
  if (e.latency_error_bound_ms >= 0.005) parts.push(`exact value at most ${fmt.ms(e.latency_error_bound_ms)} higher`);
  return parts.join(' · ');
}

function renderTable(origin) {
  ui.source.textContent = origin;
  ui.back.hidden = !view.pick;
  ui.download.disabled = !app.config;
  const e = app.evaluation;
  if (!e) {
    ui.table.replaceChildren();
    ui.tableFoot.replaceChildren();
    return;
  }
  const total = e.cost_usd_per_million;
  const rows = Object.entries(e.functions).map(([id, f]) => {
    const tr = document.createElement('tr');
    tr.dataset.function = id;
    const cells = [
      id,
      String(f.memory_mb),
      f.variant,
      f.invocations.toFixed(4),
      f.duration_ms.toFixed(2),
      f.cost_usd_per_million.toFixed(4),
      total > 0 ? `${((100 * f.cost_usd_per_million) / total).toFixed(1)}%` : '–',
    ];
    cells.forEach((text, i) => {
      const cell = document.createElement(i === 0 ? 'th' : 'td');
      if (i === 0) cell.scope = 'row';
      cell.textContent = text;
      tr.append(cell);
    });
    return tr;
  });
  ui.table.replaceChildren(...rows);
  const foot = [];
  if (e.orchestration_cost_usd_per_million > 0) {
    const tr = document.createElement('tr');
    tr.innerHTML = '<th scope="row" colspan="5">Step Functions transitions</th><td></td><td></td>';
    tr.children[1].textContent = e.orchestration_cost_usd_per_million.toFixed(4);
    tr.children[2].textContent = `${((100 * e.orchestration_cost_usd_per_million) / total).toFixed(1)}%`;
    foot.push(tr);
  }
  if (e.cold_start_cost_usd_per_million > 0) {
    const cold = document.createElement('tr');
    cold.innerHTML = '<th scope="row" colspan="5">of which cold starts\' INIT phases</th><td></td><td></td>';
    cold.children[1].textContent = e.cold_start_cost_usd_per_million.toFixed(4);
    cold.children[2].textContent = fmt.share(e.cold_start_cost_usd_per_million, total);
    foot.push(cold);
  }
  const tr = document.createElement('tr');
  tr.innerHTML = '<th scope="row" colspan="5">total per million executions</th><td></td><td>100%</td>';
  tr.children[1].textContent = total.toFixed(4);
  foot.push(tr);
  ui.tableFoot.replaceChildren(...foot);
}

/** The configuration on screen as `optiserve evaluate --config` (and `apply --config`) reads it. */
export function configurationJson(evaluation) {
  const config = {};
  for (const [id, f] of Object.entries(evaluation.functions)) config[id] = { memory_mb: f.memory_mb, variant: f.variant };
  return `${JSON.stringify(config, null, 2)}\n`;
}

function downloadConfig() {
  if (!app?.evaluation) return;
  const blob = new Blob([configurationJson(app.evaluation)], { type: 'application/json' });
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  const base = String(app.bundle.name ?? app.name).replace(/[^A-Za-z0-9._-]+/g, '-').replace(/\.json$/, '');
  a.download = `${base}.config.json`;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

// ---------------------------------------------------------------------------------------------
// Charts

/** Recomputes the what-if sweep (one optimization per point) and redraws it; returns the ms. */
function renderWhatIf() {
  if (!app) return null;
  const started = performance.now();
  const axes = sweepAxes(view.objective, view.whatIfX);
  const own = OBJECTIVE_CONSTRAINT[view.objective];
  const fixed = view.limits[own] === null ? {} : { [own]: view.limits[own] };
  const [xlo, xhi] = app.ranges[axes.x];
  const [llo, lhi] = app.ranges[axes.lines];
  const lineValues = view.lines === 1 ? [axes.lines === 'min_accuracy' ? llo : lhi] : linspace(llo, lhi, view.lines);
  const xValues = linspace(xlo, xhi, view.steps);
  let points;
  try {
    points = app.planner.whatIf({
      objective: view.objective,
      fixed,
      vary: [
        { constraint: axes.lines, from: lineValues[0], to: lineValues[lineValues.length - 1], steps: lineValues.length },
        { constraint: axes.x, from: xlo, to: xhi, steps: view.steps },
      ],
    });
  } catch (e) {
    ui.whatIfInfo.textContent = `What-if failed: ${e.message}`;
    return null;
  }
  const field = OBJECTIVE_FIELD[view.objective];
  const series = lineValues.map((v, i) => ({
    name: `${fmt.label(axes.lines)} ${fmt.limit(axes.lines, v).replace(' per million executions', '/M')}`,
    data: xValues.map((x, j) => [x, points[i * xValues.length + j].solution[field]]),
  }));
  charts.whatIf.render({ x: axes.x, lines: axes.lines, yField: field, series, current: view.limits[axes.x] });
  const elapsed = performance.now() - started;
  const infeasible = points.filter((p) => p.solution.status === 'infeasible').length;
  ui.whatIfInfo.textContent =
    `${points.length} optimizations (${lineValues.length} lines × ${xValues.length} points), ${infeasible} infeasible, ` +
    `computed and drawn in ${elapsed.toFixed(1)} ms.`;
  $('#whatif-chart').dataset.points = String(points.length);
  $('#whatif-chart').dataset.ms = elapsed.toFixed(2);
  app.whatIf = { axes, series };
  return elapsed;
}

/** Moves the "current limit" line without recomputing the sweep. */
function markWhatIf() {
  if (!app?.whatIf) return;
  const { axes, series } = app.whatIf;
  if (axes.x !== sweepAxes(view.objective, view.whatIfX).x) return;
  charts.whatIf.render({ x: axes.x, lines: axes.lines, yField: OBJECTIVE_FIELD[view.objective], series, current: view.limits[axes.x] });
}

/**
 * Points of the front where the exact enumeration would take too long: the minimum cost on a grid
 * of latency and accuracy limits (each answer is proven optimal, so it is on the front), without
 * the dominated and repeated ones. A sample of the front, not all of it.
 */
export function sampledFront(planner, ranges) {
  const [llo, lhi] = ranges.max_latency_ms;
  const [alo, ahi] = ranges.min_accuracy;
  const points = planner.whatIf({
    objective: 'cost',
    vary: [
      { constraint: 'min_accuracy', from: alo, to: ahi, steps: SAMPLED_FRONT.accuracy },
      { constraint: 'max_latency_ms', from: llo, to: lhi, steps: SAMPLED_FRONT.latency },
    ],
  });
  const found = new Map();
  for (const { solution: s } of points) {
    if (!s.config) continue;
    const key = `${s.latency_ms}|${s.cost_usd_per_million}|${s.accuracy}`;
    if (!found.has(key)) found.set(key, { latency_ms: s.latency_ms, cost_usd_per_million: s.cost_usd_per_million, accuracy: s.accuracy, config: s.config });
  }
  const all = [...found.values()];
  const dominated = (p, q) =>
    q.latency_ms <= p.latency_ms && q.cost_usd_per_million <= p.cost_usd_per_million && q.accuracy >= p.accuracy &&
    (q.latency_ms < p.latency_ms || q.cost_usd_per_million < p.cost_usd_per_million || q.accuracy > p.accuracy);
  return all.filter((p) => !all.some((q) => dominated(p, q))).sort((a, b) => a.latency_ms - b.latency_ms);
}

function computeFront() {
  app.front = null;
  app.frontExact = false;
  const started = performance.now();
  let note;
  try {
    app.front = app.planner.pareto(PARETO_NODE_LIMIT);
    app.frontExact = true;
    note = `${app.front.length.toLocaleString('en-US')} configurations on the exact front`;
  } catch (e) {
    try {
      app.front = sampledFront(app.planner, app.ranges);
      note =
        `${app.front.length.toLocaleString('en-US')} points of the front, sampled by ${SAMPLED_FRONT.latency * SAMPLED_FRONT.accuracy} exact ` +
        `optimizations (the whole front is too large to enumerate here: ${e.message.replace(/;.*$/, '')})`;
    } catch (e2) {
      note = `No front to chart: ${e2.message}`;
    }
  }
  const ok = Boolean(app.front?.length);
  ui.paretoInfo.textContent = ok
    ? `${note} (${(performance.now() - started).toFixed(0)} ms). Click a point, or choose one by number:`
    : note;
  ui.paretoIndex.max = ok ? String(app.front.length) : '1';
  ui.paretoIndex.value = '1';
  ui.paretoIndex.disabled = !ok;
  ui.paretoPick.disabled = !ok;
  $('#pareto-chart').hidden = !ok;
}

function sameConfig(a, b) {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => b[k] && a[k].memory_mb === b[k].memory_mb && (a[k].variant ?? null) === (b[k].variant ?? null));
}

function renderPareto() {
  if (!app?.front) return;
  const selected = view.pick ? app.front.findIndex((p) => sameConfig(p.config, view.pick)) : -1;
  charts.pareto.render({
    front: app.front,
    accuracy: app.report.accuracy_range,
    selected: selected >= 0 ? selected : null,
    recommended: app.solution?.config ? app.solution : null,
  });
  if (selected >= 0) ui.paretoIndex.value = String(selected + 1);
}

function pickPareto(i) {
  const p = app?.front?.[i];
  if (!p) return;
  view.pick = p.config;
  replan();
  $('#config-source').focus?.();
}

/** A function's ET(m) per variant, evaluated by the planner itself (the bundle's exact model). */
function curves(fnId) {
  if (app.curves.has(fnId)) return app.curves.get(fnId);
  const f = app.bundle.functions.find((x) => x.id === fnId);
  const sizes = memorySizes(f.memory);
  const lo = sizes[0];
  const hi = sizes[sizes.length - 1];
  const grid = [...new Set([...sizes, ...linspace(lo, hi, 64).map(Math.round)])].sort((a, b) => a - b);
  const at = (variant, memory) => app.planner.evaluate({ [fnId]: { memory_mb: memory, variant: variant.name } }).functions[fnId].duration_ms;
  const result = f.variants.map((v) => {
    const samples = v.samples ?? [];
    let fit = v.fit ? `MAPE ${v.fit.mape_percent.toFixed(2)}%, R² ${v.fit.r2.toFixed(3)}, ${v.fit.samples} samples` : '';
    if (!fit && samples.length) {
      const inRange = samples.filter((s) => !s.cold && s.memory_mb >= lo && s.memory_mb <= hi && Number.isInteger(s.memory_mb));
      if (inRange.length) {
        const mape = (100 * inRange.reduce((a, s) => a + Math.abs(at(v, s.memory_mb) - s.duration_ms) / s.duration_ms, 0)) / inRange.length;
        fit = `MAPE ${mape.toFixed(2)}% over ${inRange.length} warm samples`;
      }
    }
    const kind = modelKind(v.model);
    // A CPU-share model's knee: where its single-threaded part stops getting faster.
    const knee = v.model.kind === 'cpu_share' && v.model.knee_mb >= lo && v.model.knee_mb <= hi ? v.model.knee_mb : null;
    return {
      name: v.name,
      knee,
      legend: `${v.name} (${kind}${fit ? `; ${fit}` : samples.length ? '' : '; no samples'})`,
      curve: grid.map((m) => [m, at(v, m)]),
      warm: samples.filter((s) => !s.cold).map((s) => [s.memory_mb, s.duration_ms]),
      cold: samples.filter((s) => s.cold).map((s) => [s.memory_mb, s.duration_ms]),
    };
  });
  app.curves.set(fnId, result);
  return result;
}

/** The model family in words, as `optiserve fit` names it. */
function modelKind(model) {
  switch (model.kind) {
    case 'table':
      return 'measured table';
    case 'cpu_share':
      return model.parallel_fraction > 0
        ? `CPU share, knee ${model.knee_mb} MB, multi-thread ${model.parallel_fraction.toFixed(2)}`
        : `CPU share, knee ${model.knee_mb} MB`;
    default:
      return 'α+β·e^(−γm)';
  }
}

function memorySizes(memory) {
  if (Array.isArray(memory)) return [...memory].sort((a, b) => a - b);
  const sizes = [];
  for (let m = memory.min_mb; m <= memory.max_mb; m += memory.step_mb) sizes.push(m);
  return sizes;
}

function renderDurations() {
  if (!app) return;
  const fnId = ui.fn.value;
  const variants = curves(fnId);
  const current = (app.evaluation ?? app.deployed).functions[fnId];
  charts.durations.render({ fn: fnId, variants, current: current ? { memory_mb: current.memory_mb, variant: current.variant } : null });
  ui.etInfo.textContent = variants.map((v) => v.legend).join(' · ');
}

// ---------------------------------------------------------------------------------------------
// The URL

let saveTimer = 0;
function saveView(now = false) {
  clearTimeout(saveTimer);
  const write = () => {
    if (!app) return;
    const hash = `#${encodeView({ ...view, source: app.source })}`;
    if (location.hash !== hash) history.replaceState(null, '', hash);
  };
  if (now) write();
  else saveTimer = setTimeout(write, 150);
}

window.addEventListener('hashchange', () => {
  const next = decodeView(location.hash);
  if (app && next.source === app.source) {
    const modelChanged = next.model !== view.model;
    view = next;
    if (modelChanged) {
      useLatencyModel(view.model);
      computeFront();
    }
    setupControls();
    ui.fn.value = view.fn ?? defaultFunction(app.bundle);
    replan();
    renderWhatIf();
  } else {
    loadSource(next.source, next);
  }
});

// ---------------------------------------------------------------------------------------------
// Start

if ('serviceWorker' in navigator && location.protocol.startsWith('http')) {
  navigator.serviceWorker.register('./sw.js').catch((e) => console.warn(`offline use unavailable: ${e.message}`));
}

/** For the tests and the curious: the state of the page. */
window.optiserveWww = {
  get app() {
    return app;
  },
  get view() {
    return view;
  },
  charts,
  renderWhatIf,
};

await loadSource(view.source, decodeView(location.hash));
document.body.dataset.ready = 'true';
