import { describe, expect, it } from 'vitest';
import * as model from '../../apps/opt/model/index.ts';
import {
  createOptimiser,
  type OptimiserName,
  PolakRibiere,
  type PrcgState,
  restoreOptimiser,
  ScaledConjugateGradient,
  type ScgState,
} from '../../apps/opt/model/index.ts';

describe('apps/opt/model index', () => {
  it('exports the model pieces', () => {
    for (const name of [
      'accuracy',
      'assertNetworkShape',
      'createKernel',
      'createOptKernel',
      'createOptimiser',
      'evaluateFull',
      'initWeights',
      'parameterCount',
      'predictClasses',
      'restoreOptimiser',
      'weightLayout',
      'PolakRibiere',
      'ScaledConjugateGradient',
    ]) {
      expect(typeof (model as Record<string, unknown>)[name]).toBe('function');
    }
    expect(model.weightLayout({ inputs: 3, hidden: 2, outputs: 2, loss: 'mse' })).toEqual({
      w1: 0,
      b1: 6,
      w2: 8,
      b2: 12,
      count: 14,
    });
  });

  it('createOptimiser builds the named optimiser with its options', () => {
    const w = new Float64Array(4);
    const scg = createOptimiser('scg', w, { lambda: 1e-5, sigma: 1e-5, restartEvery: 7 });
    expect(scg).toBeInstanceOf(ScaledConjugateGradient);
    const s = scg.toJSON() as ScgState;
    expect([s.lambda, s.sigma, s.restartEvery]).toEqual([1e-5, 1e-5, 7]);
    const prcg = createOptimiser('prcg', w, { c2: 0.3, maxEvaluations: 5 });
    expect(prcg).toBeInstanceOf(PolakRibiere);
    const p = prcg.toJSON() as PrcgState;
    expect([p.c2, p.maxEvaluations, p.restartEvery]).toEqual([0.3, 5, 4]);
    expect(createOptimiser('prcg', w)).toBeInstanceOf(PolakRibiere);
    expect(() => createOptimiser('lbfgs' as OptimiserName, w)).toThrow(TypeError);
  });

  it('restoreOptimiser picks the class from the saved state', () => {
    const w = new Float64Array([1, 2]);
    expect(restoreOptimiser(createOptimiser('scg', w).toJSON())).toBeInstanceOf(ScaledConjugateGradient);
    expect(restoreOptimiser(createOptimiser('prcg', w).toJSON())).toBeInstanceOf(PolakRibiere);
    expect(() => restoreOptimiser({ kind: 'adam' })).toThrow(TypeError);
    expect(() => restoreOptimiser(null)).toThrow(TypeError);
  });
});
