// Types of `optiserve/format` (format.js): labels, units and number formats of optiserve's
// figures, and the comparison of two evaluations.
import type { Bundle, Evaluation, FunctionEvaluation, FunctionCurves, Objective, WorkflowBlock } from './index.js';

export type ConstraintKey = 'max_latency_ms' | 'max_cost_usd_per_million' | 'min_accuracy';
export type QuantityKey = 'latency_ms' | 'p95_ms' | 'cost_usd_per_million' | 'accuracy' | 'monthly_usd';

export interface ObjectiveInfo {
  readonly key: 'latency' | 'cost' | 'accuracy';
  readonly label: string;
  /** The field of a solution or evaluation it optimizes. */
  readonly field: 'latency_ms' | 'cost_usd_per_million' | 'accuracy';
  /** The limit on that quantity. */
  readonly constraint: ConstraintKey;
}
export interface ConstraintInfo {
  readonly key: ConstraintKey;
  readonly label: string;
  /** The label of a control that sets it, with the unit: "Max latency (ms)". */
  readonly title: string;
  readonly field: 'latency_ms' | 'cost_usd_per_million' | 'accuracy';
  readonly bound: 'max' | 'min';
  readonly unit: string;
  /** The <optiserve-planner> attribute that sets it. */
  readonly attribute: string;
}
export interface QuantityInfo {
  readonly label: string;
  readonly unit: string;
  readonly better: 'lower' | 'higher';
}

export const OBJECTIVES: readonly ObjectiveInfo[];
export const CONSTRAINTS: readonly ConstraintInfo[];
export const QUANTITIES: Readonly<Record<QuantityKey, QuantityInfo>>;
export function constraint(key: string): ConstraintInfo | undefined;
export function objective(key: Objective | string): ObjectiveInfo | undefined;

export function number(x: number | null | undefined, digits?: number): string;
export function ms(x: number | null | undefined): string;
export function usd(x: number | null | undefined, digits?: number): string;
export function perMillion(x: number | null | undefined): string;
export function perMillionShort(x: number | null | undefined): string;
export function monthly(x: number | null | undefined): string;
export function score(x: number | null | undefined): string;
export function share(part: number | null | undefined, whole: number): string;
export function count(x: number | null | undefined): string;
export function value(key: QuantityKey, x: number | null | undefined): string;
export function limit(key: ConstraintKey, x: number | null | undefined): string;
export function significant(x: number, digits?: number): number;
/** What a screen reader says for a slider's position (`aria-valuetext`), with the unit. */
export function valueText(key: ConstraintKey, x: number | null | undefined): string;
export function latencyModel(model: string): string;
export function status(s: string | null | undefined): string;

export interface Delta {
  from: number;
  to: number;
  /** `to − from` (0 below rounding). */
  change: number;
  /** The relative change in percent (null from 0). */
  percent: number | null;
  verdict: 'better' | 'worse' | 'same';
}
export function delta(key: QuantityKey, from: number | null | undefined, to: number | null | undefined): Delta | null;
export function signedPercent(p: number | null | undefined): string;
export function signedValue(key: QuantityKey, change: number | null | undefined): string;
export function deltaText(key: QuantityKey, d: Delta | null): string;
export function monthlyCost(costPerMillion: number | null | undefined, executions: number | null | undefined): number | null;

export interface FunctionChange {
  id: string;
  from: FunctionEvaluation | null;
  to: FunctionEvaluation;
  memoryChanged: boolean;
  variantChanged: boolean;
  duration: Delta | null;
  cost: Delta | null;
}
export interface Comparison {
  latency_ms: Delta | null;
  p95_ms: Delta | null;
  cost_usd_per_million: Delta | null;
  accuracy: Delta | null;
  monthly_usd: Delta | null;
  functions: FunctionChange[];
  /** How many functions change memory or variant. */
  changed: number;
}
export function compare(
  base: Evaluation | null,
  candidate: Evaluation | null,
  options?: { executionsPerMonth?: number | null; p95?: { base: number; candidate: number } | null },
): Comparison | null;
export function changeText(f: FunctionChange): string;

export function probabilityBasis(bundle: Bundle | null | undefined): { measured: number; assumed: number; given: number; executions: number };
export function probabilityBasisText(bundle: Bundle | null | undefined): string;
export function modelFamily(v: FunctionCurves['variants'][number]): string;
export function fitText(fit: FunctionCurves['variants'][number]['fit']): string;
export function classes(lo: number, hi: number, n?: number, digits?: number): { from: number; to: number; label: string }[];

/** A Map block of `Planner.structure()` in words (a Distributed Map with its child executions). */
export function mapLabel(b: Extract<WorkflowBlock, { kind: 'map' }>): string;
/** A state node in words: its service and action, a callback's wait, or its kind; with its delay. */
export function stateLabel(s: { kind?: string; state_kind?: string; service?: string | null; delay_ms: number }): string;
