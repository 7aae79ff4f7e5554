// Everything after the plan: the workflow diagram, the per-function chart of cost and duration
// against memory, the what-if sweep (a slice at a time, with progress), the Pareto front (exact,
// or sampled by slices of optimizations), the ET(m) chart, the simulated latency distribution.
// main.js imports this module after the first plan and calls it when the input is quiet, so that
// ECharts, dagre and these computations never hold up a plan.

import * as fmt from 'optiserve/format';
import { dataTable, durationChart, histogramChart, memoryChart, paretoChart, whatIfChart } from './charts.js';
import { draw, layout } from './diagram.js';
import { edgeBasisText, edgeProvenance } from './panels.js';
import { createSweepRunner } from './schedule.js';
import { OBJECTIVE_CONSTRAINT, OBJECTIVE_FIELD, linspace, sweepAxes } from './state.js';

/** Search nodes the exact front may take (App3's needs about 15,000; beyond, it takes seconds). */
export const PARETO_NODE_LIMIT = 20_000;
/** The grid of exact optimizations that samples a front too large to enumerate. */
export const SAMPLED_FRONT = { latency: 40, accuracy: 10 };

const $ = (sel) => document.querySelector(sel);

export function createExplore({ api, onPick }) {
  const charts = {
    whatIf: whatIfChart($('#whatif-chart'), $('#whatif-legend')),
    pareto: paretoChart($('#pareto-chart'), $('#pareto-legend'), (i) => onPick(i)),
    durations: durationChart($('#et-chart'), $('#et-legend')),
    memory: memoryChart($('#memory-chart'), $('#memory-legend')),
    histogram: histogramChart($('#simulation-chart'), $('#simulation-legend')),
  };
  const tables = {
    whatIf: dataTable($('#whatif-data')),
    pareto: dataTable($('#pareto-data')),
    durations: dataTable($('#et-data')),
    memory: dataTable($('#memory-data')),
    histogram: dataTable($('#simulation-data')),
  };
  const sweeps = createSweepRunner();
  const sampler = createSweepRunner();
  let whatIfState = null;

  function progress(box, label, done, total, what) {
    const bar = box.querySelector('progress');
    box.hidden = done >= total;
    bar.max = total;
    bar.value = done;
    label.textContent = `${fmt.count(done)} of ${fmt.count(total)} ${what}`;
  }

  return {
    charts,

    /** The workflow diagram with the configuration `evaluation` on it. */
    drawDiagram(session, evaluation, shownIsPlan) {
      if (!session.laid) {
        session.tree = session.planner.structure();
        session.laid = layout(session.bundle, session.tree);
      }
      const svg = $('#diagram');
      draw(svg, session.laid, evaluation, { provenance: edgeProvenance, describe: edgeBasisText });
      svg.setAttribute(
        'aria-label',
        `Workflow of ${session.bundle.name ?? session.name}: ${session.report.structure}. ${shownIsPlan ? 'Memory and variant per function as in the configuration table.' : 'Memory and variant as deployed.'}`,
      );
    },

    /** ET(m) of every variant of `fnId` (the planner's curves, the bundle's samples). */
    curves(session, fnId) {
      if (session.curves.has(fnId)) return session.curves.get(fnId);
      const fc = session.planner.functionCurves(fnId);
      const f = session.bundle.functions.find((x) => x.id === fnId);
      const variants = fc.variants.map((v, i) => {
        const samples = f.variants[i]?.samples ?? [];
        const offered = v.points.filter((p) => p.offered);
        const lo = offered[0].memory_mb;
        const hi = offered[offered.length - 1].memory_mb;
        const fit = fmt.fitText(v.fit);
        return {
          name: v.name,
          // A CPU-share model's knee, where it is within the offered memory.
          knee: v.knee_mb != null && v.knee_mb >= lo && v.knee_mb <= hi ? v.knee_mb : null,
          legend: `${v.name} (${fmt.modelFamily(v)}${fit ? `; ${fit}` : samples.length ? '' : '; no samples'})`,
          curve: v.points.map((p) => [p.memory_mb, p.duration_ms]),
          points: v.points,
          warm: samples.filter((s) => !s.cold).map((s) => [s.memory_mb, s.duration_ms]),
          cold: samples.filter((s) => s.cold).map((s) => [s.memory_mb, s.duration_ms]),
        };
      });
      const result = { id: fc.id, invocations: fc.invocations, variants };
      session.curves.set(fnId, result);
      return result;
    },

    renderDurations(session, fnId, current) {
      const { variants } = this.curves(session, fnId);
      charts.durations.render({ fn: fnId, variants, current });
      const samples = variants.reduce((n, v) => n + v.warm.length + v.cold.length, 0);
      $('#et-info').textContent =
        `Lines: each variant's model at every offered memory size and ${variants[0].curve.length - variants[0].points.filter((p) => p.offered).length} sizes between` +
        (samples ? `; dots: its ${fmt.count(samples)} profiled samples (filled warm, hollow cold).` : '; the bundle has no profiled samples for it.');
      const grid = variants[0].curve.map(([m]) => m);
      tables.durations.set({
        caption: `Execution time of ${fnId} (ms) against memory, per variant (the model)`,
        columns: ['memory (MB)', ...variants.map((v) => `${v.name} (ms)`)],
        rows: grid.map((m, i) => [String(m), ...variants.map((v) => v.curve[i][1].toFixed(2))]),
      });
    },

    /** Cost and duration of `fnId` against memory for the variant of `shown`, chosen and deployed memory marked. */
    renderMemory(session, fnId, shown) {
      const { variants, invocations } = this.curves(session, fnId);
      const chosen = shown?.functions[fnId] ?? null;
      const deployed = session.deployed.functions[fnId];
      const variant = variants.find((v) => v.name === (chosen ?? deployed).variant) ?? variants[0];
      const points = variant.points.filter((p) => p.offered);
      charts.memory.render({
        fn: fnId,
        variant: variant.name,
        points,
        chosen: chosen ? chosen.memory_mb : null,
        deployed: deployed.variant === variant.name ? deployed.memory_mb : null,
      });
      const best = points.reduce((a, p) => (p.cost_usd_per_million < a.cost_usd_per_million ? p : a), points[0]);
      const fastest = points.reduce((a, p) => (p.duration_ms < a.duration_ms ? p : a), points[0]);
      $('#memory-info').textContent =
        `${fnId} with ${variant.name}, ${fmt.number(invocations, 3)} invocations per execution; ${points.length} memory sizes. ` +
        `Cheapest at ${fmt.count(best.memory_mb)} MB (${fmt.usd(best.cost_usd_per_million)}/M), fastest at ${fmt.count(fastest.memory_mb)} MB (${fmt.ms(fastest.duration_ms)}).` +
        (chosen ? ` Chosen: ${fmt.count(chosen.memory_mb)} MB (${fmt.ms(chosen.duration_ms)}, ${fmt.usd(chosen.cost_usd_per_million)}/M).` : '');
      tables.memory.set({
        caption: `${fnId} (${variant.name}): duration and cost against memory`,
        columns: ['memory (MB)', 'duration (ms)', 'cost (USD per million executions)', 'marked'],
        rows: points.map((p) => [
          String(p.memory_mb),
          p.duration_ms.toFixed(2),
          p.cost_usd_per_million.toFixed(4),
          [chosen?.memory_mb === p.memory_mb ? 'chosen' : '', deployed.memory_mb === p.memory_mb && deployed.variant === variant.name ? 'deployed' : ''].filter(Boolean).join(', '),
        ]),
      });
    },

    /** The simulated latency distribution of `sim` (a `simulate` report), drawn with its table. */
    renderSimulation(sim) {
      const section = $('#simulation');
      if (!sim) {
        section.hidden = true;
        return;
      }
      section.hidden = false;
      const ci = (x) => `${fmt.ms(x[0])} – ${fmt.ms(x[1])}`;
      const signed = (x) => `${x >= 0 ? '+' : ''}${x.toFixed(2)}`;
      const rows = [
        ['mean', fmt.ms(sim.mean_ms), `analytic model ${fmt.ms(sim.analytic_latency_ms)} (${signed(sim.latency_bias_percent)}% off the simulated mean)`],
        ['p50', fmt.ms(sim.p50_ms), ''],
        ['p90', fmt.ms(sim.p90_ms), ''],
        ['p95', fmt.ms(sim.p95_ms), `95% interval ${ci(sim.p95_ci_ms)}`],
        ['p99', fmt.ms(sim.p99_ms), `95% interval ${ci(sim.p99_ci_ms)}`],
        ['max', fmt.ms(sim.max_ms), ''],
        ['cost', `${fmt.usd(sim.mean_cost_usd_per_million)} per million`, `analytic ${fmt.usd(sim.analytic_cost_usd_per_million)}`],
      ];
      const table = document.createElement('table');
      table.className = 'numbers';
      table.id = 'simulation-table';
      table.createCaption().textContent = `${fmt.count(sim.runs)} simulated executions, seed ${sim.seed}`;
      const head = table.createTHead().insertRow();
      for (const h of ['statistic', 'value', 'note']) {
        const th = document.createElement('th');
        th.scope = 'col';
        th.textContent = h;
        head.append(th);
      }
      const body = table.createTBody();
      for (const [k, v, note] of rows) {
        const tr = body.insertRow();
        tr.dataset.stat = k;
        const th = document.createElement('th');
        th.scope = 'row';
        th.textContent = k;
        tr.append(th);
        tr.insertCell().textContent = v;
        tr.insertCell().textContent = note;
      }
      section.querySelector('.panel-body').replaceChildren(table);
      charts.histogram.render({
        bins: sim.histogram,
        runs: sim.runs,
        marks: [
          { name: 'mean', ms: sim.mean_ms },
          { name: 'p95', ms: sim.p95_ms },
          { name: 'p99', ms: sim.p99_ms },
        ],
      });
      tables.histogram.set({
        caption: `Simulated executions per latency bin (${fmt.count(sim.runs)} runs)`,
        columns: ['from (ms)', 'to (ms)', 'executions', 'share'],
        rows: sim.histogram.map((b) => [b.from_ms.toFixed(2), b.to_ms.toFixed(2), fmt.count(b.count), fmt.share(b.count, sim.runs)]),
      });
    },

    /**
     * The Pareto front of the session: exact when it takes at most PARETO_NODE_LIMIT search
     * nodes, else sampled by a grid of exact optimizations (a slice at a time, with progress).
     * Returns false when superseded.
     */
    async computeFront(session) {
      if (session.front) return true;
      const info = $('#pareto-info');
      const started = performance.now();
      try {
        session.front = session.planner.pareto(PARETO_NODE_LIMIT);
        session.frontExact = true;
        session.frontNote = `${fmt.count(session.front.length)} configurations on the exact front`;
      } catch (e) {
        const [llo, lhi] = session.ranges.max_latency_ms;
        const [alo, ahi] = session.ranges.min_accuracy;
        const request = {
          objective: 'cost',
          vary: [
            { constraint: 'min_accuracy', from: alo, to: ahi, steps: SAMPLED_FRONT.accuracy },
            { constraint: 'max_latency_ms', from: llo, to: lhi, steps: SAMPLED_FRONT.latency },
          ],
        };
        const total = SAMPLED_FRONT.latency * SAMPLED_FRONT.accuracy;
        const box = $('#pareto-progress');
        const points = await sampler.run(
          total,
          (start, count) => session.planner.whatIf(request, { start, count }),
          (done) => progress(box, $('#pareto-progress-label'), done, total, 'optimizations sampling the front'),
        );
        if (!points) return false;
        // The package's dominance filter over the answers' (latency, cost, accuracy).
        const found = points.map((p) => p.solution).filter((x) => x.config);
        const figures = new Float64Array(found.length * 3);
        found.forEach((x, i) => figures.set([x.latency_ms, x.cost_usd_per_million, x.accuracy], 3 * i));
        session.front = [...api.paretoFilter(figures)].map((i) => {
          const x = found[i];
          return { latency_ms: x.latency_ms, cost_usd_per_million: x.cost_usd_per_million, accuracy: x.accuracy, config: x.config };
        });
        session.frontExact = false;
        session.frontNote =
          `${fmt.count(session.front.length)} points of the front, sampled by ${total} exact optimizations ` +
          `(the whole front is too large to enumerate here: ${e.message.replace(/;.*$/, '')})`;
      }
      const ok = session.front.length > 0;
      info.textContent = ok
        ? `${session.frontNote} (${(performance.now() - started).toFixed(0)} ms). Click a point, or choose one by number:`
        : 'No front to chart: no configuration.';
      $('#pareto-index').max = ok ? String(session.front.length) : '1';
      $('#pareto-index').disabled = !ok;
      $('#pareto-pick').disabled = !ok;
      $('#pareto-chart').hidden = !ok;
      return true;
    },

    /** Draws the front (`full`) or moves its marks: recommended, picked, deployed. */
    renderPareto(session, { selected, recommended, full }) {
      if (!session.front?.length) return;
      const d = { front: session.front, accuracy: session.report.accuracy_range, selected, recommended, deployed: session.deployed };
      if (full) {
        charts.pareto.render(d);
        tables.pareto.set({
          caption: `The ${session.frontExact ? 'exact' : 'sampled'} Pareto front: ${fmt.count(session.front.length)} configurations`,
          columns: ['#', 'latency (ms)', 'cost (USD/M)', 'accuracy', 'configuration (memory MB, variant)'],
          rows: session.front.map((p, i) => [
            String(i + 1),
            p.latency_ms.toFixed(2),
            p.cost_usd_per_million.toFixed(4),
            p.accuracy.toFixed(4),
            Object.entries(p.config)
              .map(([id, c]) => `${id} ${c.memory_mb}${c.variant ? ` ${c.variant}` : ''}`)
              .join('; '),
          ]),
        });
      } else {
        charts.pareto.mark(d);
      }
    },

    /** What the picked point gains against the recommendation, next to the chart. */
    renderPick(text) {
      $('#pick-detail-text').textContent = text;
      $('#pick-detail').hidden = !text;
    },

    /** The what-if request of the view (two swept limits, the objective's own limit fixed). */
    whatIfRequest(session, view) {
      const axes = sweepAxes(view.objective, view.whatIfX);
      const own = OBJECTIVE_CONSTRAINT[view.objective];
      const fixed = view.limits[own] === null ? {} : { [own]: view.limits[own] };
      const [xlo, xhi] = session.ranges[axes.x];
      const [llo, lhi] = session.ranges[axes.lines];
      const lineValues = view.lines === 1 ? [axes.lines === 'min_accuracy' ? llo : lhi] : linspace(llo, lhi, view.lines);
      const xValues = linspace(xlo, xhi, view.steps);
      return {
        axes,
        lineValues,
        xValues,
        request: {
          objective: view.objective,
          fixed,
          vary: [
            { constraint: axes.lines, from: lineValues[0], to: lineValues[lineValues.length - 1], steps: lineValues.length },
            { constraint: axes.x, from: xlo, to: xhi, steps: view.steps },
          ],
        },
      };
    },

    /** Solves the what-if sweep a slice at a time (progress shown) and draws it; false when superseded. */
    async runWhatIf(session, view) {
      const started = performance.now();
      const { axes, lineValues, xValues, request } = this.whatIfRequest(session, view);
      const total = lineValues.length * xValues.length;
      const info = $('#whatif-info');
      const box = $('#whatif-progress');
      let points;
      try {
        points = await sweeps.run(
          total,
          (start, count) => session.planner.whatIf(request, { start, count }),
          (done) => progress(box, $('#whatif-progress-label'), done, total, 'optimizations'),
        );
      } catch (e) {
        box.hidden = true;
        info.textContent = `What-if failed: ${e.message}`;
        return false;
      }
      if (!points) return false;
      const field = OBJECTIVE_FIELD[view.objective];
      const series = lineValues.map((v, i) => ({
        name: `${fmt.constraint(axes.lines).label} ${fmt.limit(axes.lines, v).replace(' per million executions', '/M')}`,
        data: xValues.map((x, j) => [x, points[i * xValues.length + j].solution[field]]),
      }));
      whatIfState = { session, axes, series, field };
      charts.whatIf.render({ x: axes.x, lines: axes.lines, yField: field, series, current: view.limits[axes.x] });
      tables.whatIf.set({
        caption: `The optimized ${field.replaceAll('_', ' ')} at each ${fmt.constraint(axes.x).label} (rows), per ${fmt.constraint(axes.lines).label} (columns); “infeasible”: no configuration`,
        columns: [fmt.constraint(axes.x).label, ...series.map((s) => s.name)],
        rows: xValues.map((x, j) => [
          fmt.limit(axes.x, x),
          ...series.map((s) => (s.data[j][1] === null ? 'infeasible' : fmt.value(field, s.data[j][1]))),
        ]),
      });
      const elapsed = performance.now() - started;
      const infeasible = points.filter((p) => p.solution.status === 'infeasible').length;
      info.textContent =
        `${fmt.count(points.length)} optimizations (${lineValues.length} lines × ${xValues.length} points), ${fmt.count(infeasible)} infeasible, ` +
        `computed and drawn in ${elapsed.toFixed(1)} ms.`;
      $('#whatif-chart').dataset.points = String(points.length);
      $('#whatif-chart').dataset.ms = elapsed.toFixed(2);
      return true;
    },

    /** Moves the what-if chart's "current limit" line (when the sweep is of the same axes). */
    markWhatIf(session, view) {
      if (!whatIfState || whatIfState.session !== session) return;
      const axes = sweepAxes(view.objective, view.whatIfX);
      if (axes.x !== whatIfState.axes.x || axes.lines !== whatIfState.axes.lines || whatIfState.field !== OBJECTIVE_FIELD[view.objective]) return;
      charts.whatIf.mark(view.limits[axes.x]);
    },

    cancelWhatIf() {
      sweeps.cancel();
      $('#whatif-progress').hidden = true;
    },

    cancel() {
      sweeps.cancel();
      sampler.cancel();
      $('#whatif-progress').hidden = true;
      $('#pareto-progress').hidden = true;
    },
  };
}
