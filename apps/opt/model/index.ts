/** Opt's model: the network, its kernel, and the two conjugate-gradient optimisers. */

import type { Optimiser } from './optimiser.ts';
import { PolakRibiere } from './prcg.ts';
import { ScaledConjugateGradient } from './scg.ts';

export { accuracy, createKernel, createOptKernel, evaluateFull, predictClasses } from './kernel.ts';
export {
  initWeights,
  type NetworkShape,
  parameterCount,
  type WeightLayout,
  weightLayout,
} from './network.ts';
export type { Evaluate, Optimiser, StepResult } from './optimiser.ts';
export { PolakRibiere, type PrcgOptions } from './prcg.ts';
export { ScaledConjugateGradient, type ScgOptions } from './scg.ts';

export type OptimiserName = 'scg' | 'prcg';

export function createOptimiser(name: OptimiserName, weights: Float64Array): Optimiser {
  return name === 'scg' ? new ScaledConjugateGradient(weights) : new PolakRibiere(weights);
}

/** Resume an optimiser from its `toJSON()` state (a checkpoint). */
export function restoreOptimiser(state: unknown): Optimiser {
  const kind = (state as { kind?: unknown } | null)?.kind;
  if (kind === 'scg') return ScaledConjugateGradient.fromJSON(state);
  if (kind === 'prcg') return PolakRibiere.fromJSON(state);
  throw new TypeError(`unknown optimiser state kind ${String(kind)}`);
}
