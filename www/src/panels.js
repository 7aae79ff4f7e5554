// Panels beside the planner: where the bundle's branch probabilities come from, and the simulated
// latency distribution of the configuration on screen.

import { histogramChart } from './charts.js';
import * as fmt from './format.js';

/**
 * Whether an edge's probability was measured (from Step Functions execution histories, `optiserve
 * workflow measure`) or assumed (uniform, as `workflow import-asl` starts them): the edge's
 * `basis.source`. Edges without a basis carry a probability the bundle's author gave.
 */
export function edgeProvenance(edge) {
  const s = edge?.basis?.source;
  return s === 'measured' || s === 'assumed' ? s : undefined;
}

/** A sentence on one edge's probability for its tooltip. */
export function edgeBasisText(edge) {
  const p = `p = ${+edge.probability.toFixed(4)}`;
  const b = edge.basis;
  if (b?.source === 'measured') {
    const runs = b.executions != null ? ` in ${b.executions.toLocaleString('en-US')} executions` : '';
    return `${edge.from} → ${edge.to}: ${p}, measured (taken ${b.taken.toLocaleString('en-US')} of ${b.out_of.toLocaleString('en-US')} departures${runs})`;
  }
  if (b?.source === 'assumed') return `${edge.from} → ${edge.to}: ${p}, assumed (not measured yet)`;
  return `${edge.from} → ${edge.to}: ${p}`;
}

/**
 * How many of the bundle's branch and loop probabilities (edges with p < 1) were measured,
 * assumed, or given, and the most executions a measurement came from.
 */
export function probabilityBasis(bundle) {
  const counts = { measured: 0, assumed: 0, given: 0, executions: 0 };
  for (const e of bundle.workflow?.edges ?? []) {
    const kind = edgeProvenance(e);
    if (kind === 'measured') {
      counts.measured++;
      counts.executions = Math.max(counts.executions, e.basis.executions ?? 0);
    } else if (kind === 'assumed') counts.assumed++;
    else if (e.probability < 1) counts.given++;
  }
  return counts;
}

/** The sentence under the diagram. */
export function probabilityBasisText(bundle) {
  const c = probabilityBasis(bundle);
  if (c.measured + c.assumed + c.given === 0) return 'No branches or loops: every edge is taken.';
  const parts = [];
  if (c.measured) parts.push(`${c.measured} measured${c.executions ? ` from ${c.executions.toLocaleString('en-US')} executions` : ''} (thick edges)`);
  if (c.assumed) parts.push(`${c.assumed} assumed, not measured yet (dotted edges; \`optiserve workflow measure\` replaces them)`);
  if (c.given) parts.push(`${c.given} given by the bundle`);
  return `Branch and loop probabilities: ${parts.join('; ')}.`;
}

/** Executions per simulation, and the fixed seed (the CLI's `simulate --runs 100000 --seed 1`). */
export const SIMULATION = { runs: 100_000, seed: 1 };

/**
 * The latency distribution of the configuration on screen: `Planner.simulate` with a fixed seed,
 * so the numbers equal `optiserve simulate <bundle> --config <download> --runs 100000 --seed 1`.
 * `render(planner, config)` returns the report (null when there is no configuration).
 */
export function simulationPanel(section) {
  const body = section.querySelector('.panel-body');
  const chart = histogramChart(section.querySelector('.chart'));
  // A replan (a slider drag) mostly lands on the same configuration: simulate and draw only when
  // the planner or the configuration changed.
  let last = { planner: null, key: '', report: null };
  return {
    render(planner, config) {
      if (!config) {
        section.hidden = true;
        last = { planner: null, key: '', report: null };
        return null;
      }
      section.hidden = false;
      const key = `${planner.latencyModel}|${JSON.stringify(config)}`;
      if (last.planner === planner && last.key === key) return last.report;
      let r;
      try {
        r = planner.simulate({ config, runs: SIMULATION.runs, seed: SIMULATION.seed });
      } catch (e) {
        body.textContent = `Simulation failed: ${e.message}`;
        return null;
      }
      const ci = (x) => `${fmt.ms(x[0])} – ${fmt.ms(x[1])}`;
      const rows = [
        ['mean', fmt.ms(r.mean_ms), `analytic model ${fmt.ms(r.analytic_latency_ms)} (${signed(r.latency_bias_percent)}% off the simulated mean)`],
        ['p50', fmt.ms(r.p50_ms), ''],
        ['p90', fmt.ms(r.p90_ms), ''],
        ['p95', fmt.ms(r.p95_ms), `95% interval ${ci(r.p95_ci_ms)}`],
        ['p99', fmt.ms(r.p99_ms), `95% interval ${ci(r.p99_ci_ms)}`],
        ['max', fmt.ms(r.max_ms), ''],
        ['cost', `${fmt.usd(r.mean_cost_usd_per_million)} per million`, `analytic ${fmt.usd(r.analytic_cost_usd_per_million)}`],
      ];
      body.innerHTML = '';
      const table = document.createElement('table');
      table.className = 'numbers';
      table.id = 'simulation-table';
      const tbody = table.createTBody();
      for (const [k, v, note] of rows) {
        const tr = tbody.insertRow();
        tr.dataset.stat = k;
        const th = document.createElement('th');
        th.scope = 'row';
        th.textContent = k;
        tr.append(th);
        tr.insertCell().textContent = v;
        tr.insertCell().textContent = note;
      }
      const caption = table.createCaption();
      caption.textContent = `${r.runs.toLocaleString('en-US')} simulated executions, seed ${r.seed}`;
      body.append(table);
      chart.render({
        bins: r.histogram,
        runs: r.runs,
        marks: [
          { name: 'mean', ms: r.mean_ms },
          { name: 'p95', ms: r.p95_ms },
          { name: 'p99', ms: r.p99_ms },
        ],
      });
      last = { planner, key, report: r };
      return r;
    },
  };
}

const signed = (x) => `${x >= 0 ? '+' : ''}${x.toFixed(2)}`;
