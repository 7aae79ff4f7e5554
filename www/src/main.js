// The what-if calculator: load a bundle (examples, file picker, drag and drop, a same-origin URL,
// a link that carries it, or the artifact's workflow spec), plan under limits, see the gain
// against the deployed configuration, explore the trade-offs, download the chosen configuration.
// Everything runs here, in the browser, through the `optiserve` package.
//
// The plan comes first: the package and the bundle load together, the plan panel is drawn as soon
// as both are there, and everything else (ECharts, dagre, simulations, sweeps) is loaded and
// computed afterwards, when the input is quiet (schedule.js, explore.js). The state of the page
// lives in one calculator object (createCalculator); the URL fragment holds the view (state.js).

import * as fmt from 'optiserve/format';
import EMBEDDED_EXAMPLES from 'virtual:optiserve-examples';
import { clearLimits, constraintRow, limitControls, numberField, showLimits } from './controls.js';
import { SourceError, fetchSource, keep, readInput, splitSource, textHash } from './load.js';
import { probabilityBasisText } from './panels.js';
import { planUi, renderEmpty, renderPlan } from './plan.js';
import { createScheduler } from './schedule.js';
import {
  configOf,
  defaultFunction,
  executionsPerMonth,
  openSession,
  sameConfig,
  simulate,
  simulated,
  useLatencyModel,
} from './session.js';
import { packText } from './share.js';
import { CONSTRAINTS, OBJECTIVE_CONSTRAINT, decodeView, defaultView, encodeView, sweepAxes } from './state.js';
import './style.css';

const $ = (sel) => document.querySelector(sel);
/** How long a result must stay unchanged before it is announced to screen readers. */
const ANNOUNCE_AFTER_MS = 900;
/** Shortest time between two URL updates while a slider moves (browsers throttle the history API). */
const URL_THROTTLE_MS = 300;

/** Keeps a frame keyboard-scrollable exactly when it scrolls (a tab stop only then). */
function scrollableFrame(el) {
  const update = () => {
    const scrolls = el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 1;
    if (scrolls) el.setAttribute('tabindex', '0');
    else el.removeAttribute('tabindex');
  };
  new ResizeObserver(update).observe(el);
  new MutationObserver(update).observe(el, { childList: true, subtree: true, attributes: true, attributeFilter: ['width', 'viewBox'] });
  update();
}

/** Announces `text` once it has stayed the same for a while (settled results only). */
function announcer(region) {
  let timer = 0;
  let said = '';
  return (text, { now = false } = {}) => {
    clearTimeout(timer);
    const say = () => {
      if (text && text !== said) {
        said = text;
        region.textContent = text;
      }
    };
    if (now) say();
    else timer = setTimeout(say, ANNOUNCE_AFTER_MS);
  };
}

function createCalculator(api) {
  const ui = {
    loadError: $('#load-error'),
    toast: $('#toast'),
    summary: $('#bundle-summary'),
    missing: $('#missing'),
    example: $('#example'),
    file: $('#file'),
    drop: $('#drop-zone'),
    controls: $('#controls'),
    objective: $('#objective'),
    latencyModel: $('#latency-model'),
    executions: $('#executions'),
    executionsInfo: $('#executions-info'),
    copy: $('#copy-link'),
    structure: $('#structure'),
    basis: $('#probability-basis'),
    whatIfX: $('#whatif-x'),
    whatIfSteps: $('#whatif-steps'),
    whatIfLines: $('#whatif-lines'),
    whatIfInfo: $('#whatif-info'),
    paretoIndex: $('#pareto-index'),
    paretoPick: $('#pareto-pick'),
    pickDetail: $('#pick-detail'),
    pickBack: $('#pick-back'),
    etFunction: $('#et-function'),
    memoryFunction: $('#memory-function'),
  };
  const planEls = planUi(document);
  const say = announcer($('#announcer'));
  /** Long computations running outside the scheduler (sweeps, the sampled front). */
  const background = new Set();
  let schedulerBusy = false;
  /** `body[data-settled]`: no deferred work waiting or running (the tests wait for it). */
  const refreshSettled = () => {
    document.body.dataset.settled = String(!schedulerBusy && background.size === 0);
  };
  const scheduler = createScheduler({
    onState: (busy) => {
      schedulerBusy = busy;
      refreshSettled();
    },
  });

  let session = null;
  let view = defaultView();
  let plan = null;
  /** A link whose uploaded bundle this browser does not have: its view, waiting for the file. */
  let waiting = null;
  let explorePromise = null;
  let firstPlan = false;
  let gesture = false;
  let lastUrlWrite = 0;
  let urlTimer = 0;

  const explore = () =>
    (explorePromise ??= import('./explore.js').then((m) => m.createExplore({ api, onPick: (i) => pickPoint(i, 'chart') })));

  function track(promise) {
    background.add(promise);
    refreshSettled();
    promise
      .catch((e) => console.error(e))
      .finally(() => {
        background.delete(promise);
        refreshSettled();
      });
    return promise;
  }

  // -------------------------------------------------------------------------------------------
  // The URL: deliberate changes push a history entry (Back undoes them); a slider drag pushes one
  // entry when it starts and updates it while it moves.

  function hash() {
    return `#${encodeView({ ...view, source: session.source })}`;
  }
  function writeUrl(mode) {
    if (!session) return;
    clearTimeout(urlTimer);
    urlTimer = 0;
    lastUrlWrite = performance.now();
    const h = hash();
    if (location.hash === h) return;
    if (mode === 'push') history.pushState(null, '', h);
    else history.replaceState(null, '', h);
  }
  function commitUrl() {
    writeUrl(gesture ? 'replace' : 'push');
    gesture = false;
  }
  function previewUrl() {
    if (!gesture) {
      gesture = true;
      writeUrl('push');
      return;
    }
    if (urlTimer) return;
    const wait = Math.max(0, URL_THROTTLE_MS - (performance.now() - lastUrlWrite));
    urlTimer = setTimeout(() => writeUrl('replace'), wait);
  }

  // -------------------------------------------------------------------------------------------
  // Errors, where the action was taken

  function showLoadError(message, { toast = false } = {}) {
    ui.loadError.textContent = message;
    ui.loadError.hidden = !message;
    if (message) ui.file.setAttribute('aria-invalid', 'true');
    else ui.file.removeAttribute('aria-invalid');
    if (toast) showToast(message, true);
  }
  function showToast(message, error = false) {
    const text = ui.toast.querySelector('p');
    text.textContent = message;
    ui.toast.dataset.kind = error ? 'error' : 'info';
    ui.toast.hidden = !message;
    clearTimeout(ui.toast.timer);
    if (message && !error) ui.toast.timer = setTimeout(() => (ui.toast.hidden = true), 5000);
  }
  ui.toast.querySelector('button').addEventListener('click', () => (ui.toast.hidden = true));
  const inView = (el) => {
    const r = el.getBoundingClientRect();
    return r.bottom > 0 && r.top < innerHeight;
  };

  // -------------------------------------------------------------------------------------------
  // Loading

  /** Loads `text` as `name` from `source`; on error the bundle and view on screen stay as they were. */
  function loadText(text, name, source, pendingView = null) {
    let input;
    try {
      input = readInput(api, text);
    } catch (e) {
      return `${name}: ${e.message}`;
    }
    const previous = session;
    try {
      const wanted = pendingView ? pendingView.model : null;
      const next = openSession(input, { name, source, model: wanted });
      setSession(next, pendingView);
    } catch (e) {
      input.planner.free();
      session = previous;
      return `${name}: ${e.message}`;
    }
    if (previous && previous.planner !== session.planner) previous.planner.free();
    showLoadError('');
    return null;
  }

  function setSession(next, pendingView) {
    explorePromise?.then((ex) => ex.cancel());
    session = next;
    waiting = null;
    document.body.dataset.empty = 'false';
    ui.missing.hidden = true;
    ui.controls.disabled = false;
    if (pendingView) {
      view = { ...pendingView, source: next.source };
    } else {
      // A new bundle: keep the objective, reset what depends on the bundle.
      view = { ...defaultView(), objective: view.objective, steps: view.steps, lines: view.lines, whatIfX: view.whatIfX, source: next.source };
    }
    if (next.source.startsWith('local:') || next.source.startsWith('z:')) view.name = next.name;
    else view.name = null;
    if (view.fn && !next.bundle.functions.some((f) => f.id === view.fn)) view.fn = null;
    ui.latencyModel.value = next.planner.latencyModel;
    const { bundle, report, kind, name } = next;
    ui.summary.textContent =
      `${bundle.name ?? name} (${kind}${kind === 'bundle' ? '' : ', imported'}): ${report.functions} functions, ` +
      `${fmt.count(report.configurations)} configurations, accuracy score ${fmt.score(report.accuracy_range[0])}–${fmt.score(report.accuracy_range[1])}`;
    ui.structure.textContent = report.structure;
    ui.basis.textContent = probabilityBasisText(bundle);
    showSource(next.source, name);
    const options = () => bundle.functions.map((f) => new Option(`${f.id} (${f.variants.length} variant${f.variants.length > 1 ? 's' : ''})`, f.id));
    ui.etFunction.replaceChildren(...options());
    ui.memoryFunction.replaceChildren(...options());
    showControls();
    replan({ announce: false });
    scheduleFront();
    scheduleWhatIf();
    say(`Loaded ${bundle.name ?? name}: ${report.functions} functions. ${planEls.sticky.textContent}.`);
  }

  /** The example selector shows the example on screen, or names the upload. */
  function showSource(source, name) {
    ui.example.querySelector('option[data-other]')?.remove();
    if (source?.startsWith('example:')) {
      ui.example.value = source.slice(8);
      return;
    }
    const label = !source
      ? '— choose an example, or upload the file —'
      : `${name} (${source.startsWith('z:') ? 'carried by the link' : source.startsWith('local:') ? 'uploaded' : 'from this site'})`;
    const other = new Option(label, '', true, true);
    other.dataset.other = 'true';
    other.disabled = true;
    ui.example.prepend(other);
    ui.example.value = '';
  }

  /** Nothing loaded: a link whose bundle is not here. Says which file to upload; controls off. */
  function showMissing(message, pending) {
    explorePromise?.then((ex) => ex.cancel());
    session?.planner.free();
    session = null;
    plan = null;
    waiting = pending;
    view = { ...pending.view };
    document.body.dataset.empty = 'true';
    ui.missing.textContent = message;
    ui.missing.hidden = false;
    ui.controls.disabled = true;
    ui.summary.textContent = 'No bundle loaded.';
    ui.structure.textContent = '';
    ui.basis.textContent = '';
    ui.etFunction.replaceChildren();
    ui.memoryFunction.replaceChildren();
    showSource(null);
    clearLimits();
    renderEmpty(planEls);
    say(message, { now: true });
  }

  async function loadSource(source, pendingView = null, text = null) {
    let got = text;
    if (!got) {
      try {
        got = await fetchSource(source, { examples: EMBEDDED_EXAMPLES, storage: localStorage, base: location.href, name: pendingView?.name });
      } catch (e) {
        got = e;
      }
    }
    if (got instanceof Error) {
      if (got instanceof SourceError && got.missing) {
        showMissing(got.message, { source, view: { ...(pendingView ?? view), source } });
      } else {
        showLoadError(got.message);
        if (!session) showMissing(`${got.message}. Choose an example or upload a bundle.`, { source, view: { ...(pendingView ?? view), source } });
      }
      return false;
    }
    const error = loadText(got.text, got.name, source, pendingView);
    if (error) {
      showLoadError(error);
      if (!session) showMissing(`${error}. Choose an example or upload a bundle.`, { source, view: { ...(pendingView ?? view), source } });
      return false;
    }
    return true;
  }

  /** An uploaded or dropped file: carried by links when small (`z:`), else kept in this browser (`local:`). */
  async function loadFile(file, how) {
    const text = await file.text();
    const hash = textHash(text);
    const packed = await packText(text);
    const source = packed ? `z:${packed}` : `local:${hash}`;
    // A link waiting for this file: show the link's view.
    const pending = waiting && (waiting.source === `local:${hash}` || splitSource(waiting.source)[0] === 'local') ? waiting.view : null;
    const error = loadText(text, file.name, source, pending);
    if (error) {
      showLoadError(error, { toast: how === 'drop' && !inView(ui.loadError) });
      if (how === 'picker') ui.file.focus();
      return false;
    }
    if (!packed && !keep(localStorage, hash, file.name, text)) {
      ui.summary.append(' (too large to keep in this browser: a link to this view needs the file uploaded again)');
    }
    if (how === 'drop' && !inView(ui.summary)) showToast(`Loaded ${file.name}.`);
    writeUrl('push');
    return true;
  }

  // -------------------------------------------------------------------------------------------
  // Planning

  function computePlan() {
    const solution = session.planner.optimize({ objective: view.objective, constraints: { ...view.limits } });
    const recommended = solution.config ? session.planner.evaluate(solution.config) : null;
    let shown = recommended;
    let shownKind = recommended ? 'recommended' : 'none';
    if (view.pick) {
      try {
        shown = session.planner.evaluate(view.pick);
        shownKind = 'pick';
      } catch (e) {
        view.pick = null;
        showLoadError(`The configuration in the link does not fit this bundle: ${e.message}`);
      }
    }
    const baseline = shownKind === 'pick' && recommended ? recommended : session.deployed;
    const baselineName = shownKind === 'pick' && recommended ? 'the recommendation' : 'the deployed configuration';
    const executions = executionsPerMonth(session, view);
    const p = {
      solution,
      recommended,
      shown,
      shownKind,
      baseline,
      baselineName,
      executions,
      pickNumber: null,
      simulation: null,
      sourceText:
        shownKind === 'pick' ? 'picked on the Pareto front' : shown ? `recommended (${solution.status})` : 'none: no configuration meets the constraints',
    };
    if (shownKind === 'pick' && session.front) {
      const i = session.front.findIndex((q) => sameConfig(q.config, view.pick));
      p.pickNumber = i >= 0 ? i + 1 : null;
    }
    withSimulations(p);
    return p;
  }

  /** Fills in the p95 figures when the simulations are done already (they run when idle). */
  function withSimulations(p) {
    const shownConfig = p.shown ? configOf(p.shown) : null;
    const baseConfig = configOf(p.baseline);
    p.simulation = shownConfig && simulated(session, shownConfig) ? simulate(session, shownConfig) : null;
    const base = simulated(session, baseConfig) ? simulate(session, baseConfig) : null;
    p.comparison = fmt.compare(p.baseline, p.shown, {
      executionsPerMonth: p.executions,
      p95: p.simulation && base ? { base: base.p95_ms, candidate: p.simulation.p95_ms } : null,
    });
  }

  function replan({ announce = true } = {}) {
    if (!session) return;
    plan = computePlan();
    const sentence = renderPlan(planEls, plan);
    if (!firstPlan) {
      firstPlan = true;
      performance.mark('optiserve:first-plan');
      document.body.dataset.firstPlanMs = performance.now().toFixed(1);
    }
    document.body.dataset.plans = String(Number(document.body.dataset.plans ?? 0) + 1);
    if (announce) say(sentence);
    scheduleAfterPlan();
  }

  /** The deferred work that follows a new plan, in the order people look at it. */
  function scheduleAfterPlan() {
    const s = session;
    scheduler.later(
      'simulate',
      () => {
        if (s !== session || !plan) return;
        if (plan.shown) simulate(session, configOf(plan.shown));
        simulate(session, configOf(plan.baseline));
        withSimulations(plan);
        renderPlan(planEls, plan);
        return explore().then((ex) => ex.renderSimulation(plan.simulation));
      },
      1,
    );
    scheduler.later('diagram', () => explore().then((ex) => s === session && ex.drawDiagram(session, plan.shown ?? session.deployed, Boolean(plan.shown))), 2);
    scheduler.later('memory', () => explore().then((ex) => s === session && ex.renderMemory(session, view.fn ?? defaultFunction(session.bundle), plan.shown)), 3);
    scheduler.later('pareto-marks', () => explore().then((ex) => s === session && ex.renderPareto(session, paretoMarks(false))), 4);
    scheduler.later('durations', () => explore().then((ex) => s === session && ex.renderDurations(session, view.fn ?? defaultFunction(session.bundle), currentChoice())), 5);
    scheduler.later('whatif-mark', () => explore().then((ex) => s === session && ex.markWhatIf(session, view)), 5);
  }

  function currentChoice() {
    const fnId = view.fn ?? defaultFunction(session.bundle);
    const f = (plan?.shown ?? session.deployed).functions[fnId];
    return f ? { memory_mb: f.memory_mb, variant: f.variant } : null;
  }

  function paretoMarks(full) {
    const selected = view.pick && session.front ? session.front.findIndex((q) => sameConfig(q.config, view.pick)) : -1;
    return { selected: selected >= 0 ? selected : null, recommended: plan?.recommended ?? null, full };
  }

  function scheduleFront() {
    const s = session;
    scheduler.later(
      'front',
      () =>
        explore().then((ex) =>
          track(
            ex.computeFront(s).then((done) => {
              if (!done || s !== session) return;
              ex.renderPareto(session, paretoMarks(true));
              if (plan?.shownKind === 'pick') {
                plan = computePlan();
                renderPlan(planEls, plan);
                renderPickDetail(ex);
              }
            }),
          ),
        ),
      6,
    );
  }

  function scheduleWhatIf() {
    const s = session;
    explorePromise?.then((ex) => ex.cancelWhatIf());
    scheduler.later('whatif', () => explore().then((ex) => s === session && track(ex.runWhatIf(session, { ...view, limits: { ...view.limits } }))), 7);
  }

  // -------------------------------------------------------------------------------------------
  // Controls

  function showControls() {
    ui.objective.value = view.objective;
    showLimits(view, session.ranges);
    ui.latencyModel.value = session.planner.latencyModel;
    const bundleExecutions = session.bundle.workload?.executions_per_month;
    ui.executions.value = String(executionsPerMonth(session, view));
    ui.executionsInfo.textContent = bundleExecutions
      ? `The bundle's workload: ${fmt.count(bundleExecutions)} a month.`
      : 'The bundle gives no workload; 1,000,000 until you type another number.';
    ui.whatIfSteps.value = String(view.steps);
    ui.whatIfLines.value = String(view.lines);
    refreshWhatIfAxes();
    const fnId = view.fn ?? defaultFunction(session.bundle);
    ui.etFunction.value = fnId;
    ui.memoryFunction.value = fnId;
  }

  function refreshWhatIfAxes() {
    const axes = sweepAxes(view.objective, view.whatIfX);
    ui.whatIfX.replaceChildren(
      ...CONSTRAINTS.filter((c) => c !== OBJECTIVE_CONSTRAINT[view.objective]).map((c) => new Option(fmt.constraint(c).label, c)),
    );
    ui.whatIfX.value = axes.x;
  }

  limitControls({
    onInput: () => scheduler.input(),
    onLimit(c, value, phase) {
      if (!session) return;
      view.limits[c] = value;
      view.pick = null;
      replan();
      if (c === OBJECTIVE_CONSTRAINT[view.objective]) scheduleWhatIf();
      if (phase === 'preview') {
        scheduler.input();
        previewUrl();
      } else {
        scheduler.flush();
        commitUrl();
      }
    },
  });

  ui.objective.addEventListener('change', () => {
    if (!session) return;
    view.objective = ui.objective.value;
    view.pick = null;
    refreshWhatIfAxes();
    replan();
    scheduleWhatIf();
    writeUrl('push');
  });

  ui.latencyModel.addEventListener('change', () => {
    if (!session) return;
    view.model = ui.latencyModel.value === session.bundleModel ? null : ui.latencyModel.value;
    view.pick = null;
    useLatencyModel(session, view.model);
    showControls();
    replan();
    scheduleFront();
    scheduleWhatIf();
    writeUrl('push');
  });

  numberField(ui.executions, {
    onInput: () => scheduler.input(),
    onValue(x) {
      if (!session) return;
      if (!(x > 0 && x <= 1e12)) {
        ui.executions.setAttribute('aria-invalid', 'true');
        ui.executionsInfo.textContent = 'Executions per month: a number above 0 (up to 10¹²).';
        return;
      }
      ui.executions.removeAttribute('aria-invalid');
      const bundleExecutions = session.bundle.workload?.executions_per_month ?? null;
      view.executions = x === bundleExecutions ? null : x;
      showControls();
      replan();
      writeUrl('push');
    },
    onInvalid() {
      ui.executions.setAttribute('aria-invalid', 'true');
      ui.executionsInfo.textContent = 'Executions per month: a number above 0 (up to 10¹²).';
    },
  });

  ui.whatIfX.addEventListener('change', () => {
    if (!session) return;
    view.whatIfX = ui.whatIfX.value;
    scheduleWhatIf();
    scheduler.flush();
    writeUrl('push');
  });
  for (const input of [ui.whatIfSteps, ui.whatIfLines]) {
    numberField(input, {
      onValue() {
        const steps = Number(ui.whatIfSteps.value);
        const lines = Number(ui.whatIfLines.value);
        if (!(Number.isInteger(steps) && steps >= 2 && steps <= 200 && Number.isInteger(lines) && lines >= 1 && lines <= 20)) {
          ui.whatIfInfo.textContent = 'Points per line: 2 to 200; lines: 1 to 20.';
          input.setAttribute('aria-invalid', 'true');
          return;
        }
        input.removeAttribute('aria-invalid');
        if (!session || (steps === view.steps && lines === view.lines)) return;
        view.steps = steps;
        view.lines = lines;
        scheduleWhatIf();
        scheduler.flush();
        writeUrl('push');
      },
      onInvalid() {
        ui.whatIfInfo.textContent = 'Points per line: 2 to 200; lines: 1 to 20.';
        input.setAttribute('aria-invalid', 'true');
      },
    });
  }

  for (const select of [ui.etFunction, ui.memoryFunction]) {
    select.addEventListener('change', () => {
      if (!session) return;
      view.fn = select.value;
      ui.etFunction.value = view.fn;
      ui.memoryFunction.value = view.fn;
      scheduleAfterPlan();
      scheduler.flush();
      writeUrl('push');
    });
  }

  ui.example.addEventListener('change', async () => {
    if (!ui.example.value) return;
    if (await loadSource(`example:${ui.example.value}`)) writeUrl('push');
  });
  ui.file.addEventListener('change', async () => {
    const file = ui.file.files?.[0];
    if (file) await loadFile(file, 'picker');
    ui.file.value = '';
  });

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
    if (file) loadFile(file, 'drop');
  });

  // The infeasible case's fix: set the limit where it can be met; focus moves to the new result.
  planEls.relax.addEventListener('click', () => {
    const c = planEls.relax.dataset.constraint;
    const reach = Number(planEls.relax.dataset.value);
    if (!session || !c || !Number.isFinite(reach)) return;
    // Just past the reachable value, so rounding cannot keep it infeasible.
    const nudge = c === 'min_accuracy' ? -1e-9 : 1e-9;
    const value = reach * (1 + (reach >= 0 ? nudge : -nudge));
    view.limits[c] = value;
    view.pick = null;
    const row = constraintRow(c);
    row.on.checked = true;
    row.range.disabled = false;
    row.range.value = String(value);
    row.number.value = String(value);
    showLimits(view, session.ranges);
    replan();
    scheduleWhatIf();
    writeUrl('push');
    planEls.summary.focus({ preventScroll: true });
  });

  // -------------------------------------------------------------------------------------------
  // The Pareto pick

  function renderPickDetail(ex) {
    if (!plan || plan.shownKind !== 'pick') {
      ex.renderPick(
        session?.front?.length
          ? 'No point picked: the plan shows the recommendation. Click a point of the front, or choose one by number.'
          : '',
      );
      ui.pickBack.hidden = true;
      return;
    }
    const e = plan.shown;
    const c = plan.comparison;
    const head = plan.pickNumber ? `Point #${plan.pickNumber} of ${fmt.count(session.front.length)}` : 'The picked point';
    const gain =
      c && c.changed
        ? `Against ${plan.baselineName}: ${[fmt.deltaText('cost_usd_per_million', c.cost_usd_per_million), fmt.deltaText('latency_ms', c.latency_ms), fmt.deltaText('accuracy', c.accuracy)].join('; ')}; ${c.changed} function${c.changed === 1 ? '' : 's'} change.`
        : 'It is the recommendation.';
    ex.renderPick(`${head}: cost ${fmt.perMillion(e.cost_usd_per_million)}, latency ${fmt.ms(e.latency_ms)}, accuracy ${fmt.score(e.accuracy)}. ${gain} The plan above shows it; Download saves it.`);
    ui.pickBack.hidden = false;
  }

  function pickPoint(i, from) {
    const p = session?.front?.[i];
    if (!p) return;
    view.pick = p.config;
    replan();
    writeUrl('push');
    explore().then((ex) => {
      ex.renderPareto(session, paretoMarks(false));
      renderPickDetail(ex);
      ui.paretoIndex.value = String(i + 1);
      // Focus moves to what the pick produced, next to the chart: the page does not jump.
      if (from) ui.pickDetail.focus({ preventScroll: true });
    });
  }

  function backToRecommendation(focus) {
    if (!session) return;
    view.pick = null;
    replan();
    writeUrl('push');
    explore().then((ex) => {
      ex.renderPareto(session, paretoMarks(false));
      renderPickDetail(ex);
    });
    focus.focus({ preventScroll: true });
  }

  ui.paretoPick.addEventListener('click', () => {
    const i = Number(ui.paretoIndex.value) - 1;
    if (session?.front && Number.isInteger(i) && i >= 0 && i < session.front.length) pickPoint(i, 'number');
  });
  ui.paretoIndex.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') {
      e.preventDefault();
      ui.paretoPick.click();
    }
  });
  planEls.back.addEventListener('click', () => backToRecommendation(planEls.summary));
  ui.pickBack.addEventListener('click', () => backToRecommendation(ui.pickDetail));

  // -------------------------------------------------------------------------------------------
  // Decide: download, copy the link

  planEls.download.addEventListener('click', () => {
    if (!plan?.shown) return;
    const config = configOf(plan.shown);
    const blob = new Blob([`${JSON.stringify(config, null, 2)}\n`], { type: 'application/json' });
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    const base = String(session.bundle.name ?? session.name).replace(/[^A-Za-z0-9._-]+/g, '-').replace(/\.json$/, '');
    a.download = `${base}.config.json`;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
  });

  ui.copy.addEventListener('click', async () => {
    writeUrl('replace');
    let text;
    try {
      await navigator.clipboard.writeText(location.href);
      text = 'Link copied';
    } catch {
      text = 'The address bar has the link';
    }
    ui.copy.textContent = text;
    say(text, { now: true });
    setTimeout(() => (ui.copy.textContent = 'Copy link to this view'), 2000);
  });

  // -------------------------------------------------------------------------------------------
  // Back and Forward: the view of that history entry

  window.addEventListener('popstate', () => restore(decodeView(location.hash)));

  async function restore(next) {
    gesture = false;
    if (session && next.source === session.source) {
      const modelChanged = next.model !== view.model;
      view = next;
      if (modelChanged) {
        useLatencyModel(session, view.model);
        scheduleFront();
      }
      showControls();
      replan();
      scheduleWhatIf();
      explore().then((ex) => renderPickDetail(ex));
    } else {
      await loadSource(next.source, next);
    }
  }

  for (const frame of document.querySelectorAll('.scroll-frame')) scrollableFrame(frame);

  return {
    /** Loads the view of the URL; `textPromise` is the source's text, fetched while the package loaded. */
    async start(initial, textPromise) {
      view = initial;
      await loadSource(initial.source, initial, await textPromise);
      if (session) writeUrl('replace');
      explore();
    },
    debug: {
      get app() {
        if (!session) return null;
        return { ...session, solution: plan?.solution ?? null, evaluation: plan?.shown ?? null, config: plan?.shown ? configOf(plan.shown) : null, simulation: plan?.simulation ?? null, plan };
      },
      get view() {
        return view;
      },
      get charts() {
        return explorePromise ? explorePromise.then((ex) => ex.charts) : null;
      },
      /** Resolves when every deferred chart, simulation and sweep is done. */
      async settled() {
        for (;;) {
          await scheduler.settled();
          if (!background.size) break;
          await Promise.allSettled([...background]);
        }
      },
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Start: the bundle is fetched while the package (and its WebAssembly module) loads.

// Marks for the first-plan measurement: main.js runs, the package is ready, the first plan is drawn.
performance.mark('optiserve:start');
const initial = decodeView(location.hash);
const textPromise = fetchSource(initial.source, {
  examples: EMBEDDED_EXAMPLES,
  storage: localStorage,
  base: location.href,
  name: initial.name,
}).catch((e) => e);
const api = await import('optiserve');
performance.mark('optiserve:package');
const calculator = createCalculator(api);

/** For the tests and the curious: the state of the page. */
window.optiserveWww = calculator.debug;

await calculator.start(initial, textPromise);
document.body.dataset.ready = 'true';

if ('serviceWorker' in navigator && location.protocol.startsWith('http')) {
  navigator.serviceWorker.register('./sw.js').catch((e) => console.warn(`offline use unavailable: ${e.message}`));
}
