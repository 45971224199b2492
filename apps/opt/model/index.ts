/** Opt's model: the network, its kernel, and the two conjugate-gradient optimisers. */

import type { Optimiser } from './optimiser.ts';
import { PolakRibiere, type PrcgOptions } from './prcg.ts';
import { ScaledConjugateGradient, type ScgOptions } from './scg.ts';

export {
  accuracy,
  createKernel,
  createOptKernel,
  evaluateFull,
  type OptKernel,
  predictClasses,
} from './kernel.ts';
export {
  assertNetworkShape,
  initWeights,
  type NetworkShape,
  parameterCount,
  type WeightLayout,
  weightLayout,
} from './network.ts';
export type { Evaluate, Optimiser, StepResult } from './optimiser.ts';
export { PolakRibiere, type PrcgOptions, type PrcgState } from './prcg.ts';
export { ScaledConjugateGradient, type ScgOptions, type ScgState } from './scg.ts';
export { addWeightDecay, decayPenalty } from './weight-decay.ts';

export type OptimiserName = 'scg' | 'prcg';

/** Options for `createOptimiser`: those of the optimiser named (unknown fields are ignored). */
export type OptimiserOptions = ScgOptions & PrcgOptions;

/** A fresh optimiser starting from (a copy of) `weights`. */
export function createOptimiser(
  name: OptimiserName,
  weights: Float64Array,
  options: OptimiserOptions = {},
): Optimiser {
  if (name === 'scg') {
    const { sigma, lambda, restartEvery } = options;
    return new ScaledConjugateGradient(weights, { sigma, lambda, restartEvery });
  }
  if (name === 'prcg') {
    const { c1, c2, maxEvaluations, restartEvery } = options;
    return new PolakRibiere(weights, { c1, c2, maxEvaluations, restartEvery });
  }
  throw new TypeError(`unknown optimiser ${String(name)}: expected 'scg' or 'prcg'`);
}

/** Resume an optimiser from its `toJSON()` state (a checkpoint). */
export function restoreOptimiser(state: unknown): Optimiser {
  const kind = (state as { kind?: unknown } | null)?.kind;
  if (kind === 'scg') return ScaledConjugateGradient.fromJSON(state);
  if (kind === 'prcg') return PolakRibiere.fromJSON(state);
  throw new TypeError(`unknown optimiser state kind ${String(kind)}`);
}
