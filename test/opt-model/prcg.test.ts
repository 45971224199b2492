import { describe, expect, it } from 'vitest';
import { evaluateFull } from '../../apps/opt/model/kernel.ts';
import type { Evaluate } from '../../apps/opt/model/optimiser.ts';
import { PolakRibiere, type PrcgState } from '../../apps/opt/model/prcg.ts';
import { quadratic, smallProblem } from './helpers.ts';

const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
};

/** The state as plain JSON, to look inside. */
const stateOf = (p: PolakRibiere) => JSON.parse(JSON.stringify(p.toJSON())) as PrcgState;

describe('PolakRibiere', () => {
  it('each accepted step meets the strong Wolfe conditions on a smooth problem', async () => {
    const { shape, rows, initial } = smallProblem('xent');
    const evaluate: Evaluate = async (w) => evaluateFull(shape, w, rows);
    const c1 = 1e-4;
    const c2 = 0.1;
    const prcg = new PolakRibiere(initial, { c1, c2, maxEvaluations: 30 });
    await prcg.step(async (w) => evaluate(w)); // initialises g and takes a first step
    for (let k = 0; k < 15; k++) {
      const before = stateOf(prcg);
      const slope0 = dot(before.g, before.d);
      expect(slope0).toBeLessThan(0); // d is a descent direction
      const result = await prcg.step(evaluate);
      if (!result.moved) continue;
      const after = stateOf(prcg);
      // Recover α from the move along d.
      let i = 0;
      while (before.d[i] === 0) i++;
      const alpha = (after.weights[i] - before.weights[i]) / before.d[i];
      expect(alpha).toBeGreaterThan(0);
      expect(after.error).toBeLessThanOrEqual(before.error + c1 * alpha * slope0);
      expect(Math.abs(dot(after.g, before.d))).toBeLessThanOrEqual(-c2 * slope0 * (1 + 1e-9));
    }
  });

  it('builds Polak–Ribière directions, and restarts along −g every `restartEvery` iterations', async () => {
    const { evaluate } = quadratic(4, 8);
    const prcg = new PolakRibiere(new Float64Array(8), { restartEvery: 3 });
    let conjugate = 0;
    for (let k = 1; k <= 7; k++) {
      const before = stateOf(prcg);
      await prcg.step(evaluate);
      const s = stateOf(prcg);
      const steepest = s.d.every((v, i) => v === -s.g[i]);
      if (s.sinceRestart === 0) {
        expect(steepest).toBe(true);
      } else {
        // d = −g + βd_old with β = gᵀ(g − g_old)/|g_old|² > 0.
        expect(steepest).toBe(false);
        conjugate++;
        if (k > 1) {
          const beta = (dot(s.g, s.g) - dot(s.g, before.g)) / dot(before.g, before.g);
          expect(beta).toBeGreaterThan(0);
          for (let i = 0; i < 8; i++) expect(s.d[i]).toBeCloseTo(-s.g[i] + beta * before.d[i], 12);
        }
      }
      expect(s.sinceRestart).toBeLessThan(3);
    }
    expect(conjugate).toBeGreaterThan(0);
    // restartEvery: 1 is steepest descent throughout.
    const sd = new PolakRibiere(new Float64Array(8), { restartEvery: 1 });
    for (let k = 0; k < 4; k++) {
      await sd.step(evaluate);
      const s = stateOf(sd);
      expect(s.d.every((v, i) => v === -s.g[i])).toBe(true);
    }
  });

  it('a search that finds no decrease leaves the weights, shrinks, and finally stops', async () => {
    // The gradient has the wrong sign, so −g points uphill and every trial step is worse.
    const evaluate: Evaluate = async (w) => ({
      error: 0.5 * dot(w, w),
      gradient: w.map((v) => -v),
    });
    const prcg = new PolakRibiere(new Float64Array([1, 2]), { maxEvaluations: 6 });
    let steps = 0;
    while (!prcg.converged && steps < 100) {
      const result = await prcg.step(evaluate);
      expect(result.moved).toBe(false);
      expect(result.error).toBe(2.5);
      steps++;
      if (steps === 1) {
        // A checkpoint taken after a failed search continues the same way.
        const copy = PolakRibiere.fromJSON(JSON.parse(JSON.stringify(prcg.toJSON())));
        const a = await copy.step(evaluate);
        const b = await PolakRibiere.fromJSON(JSON.parse(JSON.stringify(prcg.toJSON()))).step(evaluate);
        expect(b).toEqual(a);
        expect(stateOf(prcg).alphaNext).toBeGreaterThan(0);
      }
    }
    expect(prcg.converged).toBe(true);
    expect(steps).toBeLessThan(20);
    expect(Array.from(prcg.weights)).toEqual([1, 2]);
  });

  it('treats a non-finite error as too long a step', async () => {
    // Minimum at w = 10, error +∞ beyond w = 5.
    const evaluate: Evaluate = async (w) => ({
      error: w[0] > 5 ? Number.POSITIVE_INFINITY : 0.5 * w[0] * w[0] - 10 * w[0],
      gradient: new Float64Array([w[0] - 10]),
    });
    const prcg = new PolakRibiere(new Float64Array([0]));
    for (let k = 0; k < 10 && !prcg.converged; k++) await prcg.step(evaluate);
    expect(prcg.error).toBeLessThan(-30);
    expect(prcg.weights[0]).toBeLessThanOrEqual(5);
  });

  it('crosses a flat, wide problem (small gradients, distant minimum) in a few evaluations', async () => {
    // E = ½·10⁻⁴·|w − 1000|²: gradients are small, the minimum is far.
    const evaluate: Evaluate = async (w) => ({
      error: 0.5e-4 * w.reduce((s, v) => s + (v - 1000) ** 2, 0),
      gradient: w.map((v) => 1e-4 * (v - 1000)),
    });
    const prcg = new PolakRibiere(new Float64Array(3));
    let evaluations = 0;
    for (let k = 0; k < 6 && !prcg.converged; k++) evaluations += (await prcg.step(evaluate)).evaluations;
    expect(prcg.error).toBeLessThan(1e-12);
    expect(evaluations).toBeLessThan(30);
  });

  it('validates options and saved states', () => {
    expect(() => new PolakRibiere(new Float64Array(2), { c1: 0.5, c2: 0.1 })).toThrow(RangeError);
    expect(() => new PolakRibiere(new Float64Array(2), { c2: 1 })).toThrow(RangeError);
    expect(() => new PolakRibiere(new Float64Array(2), { maxEvaluations: 1 })).toThrow(RangeError);
    expect(() => new PolakRibiere(new Float64Array(2), { restartEvery: 0 })).toThrow(RangeError);
    expect(() => PolakRibiere.fromJSON({ kind: 'scg' })).toThrow(TypeError);
    const state = new PolakRibiere(new Float64Array(2)).toJSON();
    expect(() => PolakRibiere.fromJSON({ ...state, d: [1, 2, 3] })).toThrow(TypeError);
  });
});
