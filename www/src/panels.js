// Places for what later bundles and package versions add; each one shows itself only when the
// data or the API it needs is there, so the site works with today's package and bundles.

/**
 * Whether an edge's probability was measured (from Step Functions execution histories) or assumed.
 * Bundles do not record this yet; when an edge carries `"source": "measured" | "assumed"` (the
 * field name is provisional, to be fixed with the bundle schema), the diagram styles it.
 */
export function edgeProvenance(edge) {
  const s = edge?.source;
  return s === 'measured' || s === 'assumed' ? s : undefined;
}

/**
 * The latency distribution of the configuration on screen, when the package has
 * `Planner.simulate` (latency histogram and percentiles). Until then the panel stays hidden.
 * `render(planner, config)` returns true when it showed something.
 */
export function simulationPanel(section) {
  const body = section.querySelector('.panel-body');
  return {
    available: (planner) => typeof planner?.simulate === 'function',
    render(planner, config) {
      if (!this.available(planner) || !config) {
        section.hidden = true;
        return false;
      }
      section.hidden = false;
      try {
        const result = planner.simulate({ config, runs: 10000, seed: 1 });
        const p = result?.latency_ms ?? result?.latency ?? {};
        const rows = ['mean', 'p50', 'p90', 'p95', 'p99']
          .filter((k) => typeof p[k] === 'number')
          .map((k) => `<tr><th scope="row">${k}</th><td>${p[k].toFixed(2)} ms</td></tr>`)
          .join('');
        body.innerHTML = rows
          ? `<table class="numbers"><tbody>${rows}</tbody></table>`
          : '<p>The simulation returned no latency percentiles this page can show.</p>';
      } catch (e) {
        body.textContent = `Simulation failed: ${e.message}`;
      }
      return true;
    },
  };
}
