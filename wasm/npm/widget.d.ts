// Types of the <optiserve-planner> element (widget.js). The argument and result types come from
// the generated API types.
import type { Bundle, Evaluation, ParetoPoint, Solution, Configuration, Objective, Constraints } from './index.js';
import type { Comparison } from './format.js';

/** Detail of the `configchange` event, fired after every new recommendation. */
export interface ConfigChangeDetail {
  /** The recommended configuration (null when no configuration meets the constraints). */
  config: Configuration | null;
  /** The `optimize` result. */
  solution: Solution;
  /** The evaluation of `config` (per-function memory, variant, duration and cost), or null. */
  evaluation: Evaluation | null;
}

export class OptiservePlanner extends HTMLElement {
  /** The bundle (object or JSON text); setting it replaces the planner. */
  bundle: Bundle | string | null;
  /** The last `optimize` result, or null. */
  readonly solution: Solution | null;
  /** The evaluation of the recommended configuration, or null. */
  readonly evaluation: Evaluation | null;
  /** The evaluation of the bundle's deployed configuration, or null. */
  readonly deployed: Evaluation | null;
  /** The recommendation against the deployed configuration (deltas, per-function changes), or null. */
  readonly comparison: Comparison | null;
  /** The Pareto front of the bundle, or null (not loaded yet, or too large). */
  readonly front: ParetoPoint[] | null;
  /** The request the controls describe. */
  readonly request: { objective: Objective; constraints: Constraints };
}

declare global {
  interface HTMLElementTagNameMap {
    'optiserve-planner': OptiservePlanner;
  }
  interface HTMLElementEventMap {
    configchange: CustomEvent<ConfigChangeDetail>;
  }
}
