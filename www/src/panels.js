// Where the bundle's branch probabilities come from (measured, assumed or given), for the diagram
// and the sentence under it. The counting is the package's (`optiserve/format`), shared with the
// widget; the sentence here also says how the diagram draws each kind.

import { probabilityBasis } from 'optiserve/format';

export { probabilityBasis };

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
