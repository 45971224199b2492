import { describe, expect, it } from 'vitest';
import type { Evaluate } from '../../apps/opt/model/optimiser.ts';
import { ScaledConjugateGradient, type ScgState } from '../../apps/opt/model/scg.ts';
import { quadratic } from './helpers.ts';

/** An evaluator of a 1-D function that records the points it was asked about. */
function oneDimensional(f: (w: number) => number, df: (w: number) => number) {
  const points: number[] = [];
  const evaluate: Evaluate = async (w) => {
    points.push(w[0]);
    return { error: f(w[0]), gradient: new Float64Array([df(w[0])]) };
  };
  return { evaluate, points };
}

describe('ScaledConjugateGradient (Møller 1993)', () => {
  it('first step on ½aw² − bw goes to b/(a+λ) and quarters λ (steps 1–7 by hand)', async () => {
    const a = 3;
    const b = 2;
    const { evaluate, points } = oneDimensional(
      (w) => 0.5 * a * w * w - b * w,
      (w) => a * w - b,
    );
    const lambda = 1e-3;
    const scg = new ScaledConjugateGradient(new Float64Array([0]), { lambda });
    const result = await scg.step(evaluate);
    // Evaluations: E′(w₁), E′(w₁ + σ₁p₁), then E(w₁ + α₁p₁).
    expect(result.evaluations).toBe(3);
    expect(points[0]).toBe(0);
    expect(points[1]).toBeCloseTo(1e-4, 15); // σ/|p|·p = σ along +p
    // δ = (a + λ)p², μ = p², α = 1/(a + λ): the trial point is b/(a + λ).
    expect(points[2]).toBeCloseTo(b / (a + lambda), 12);
    expect(result.moved).toBe(true);
    expect(scg.weights[0]).toBe(points[2]);
    // Δ = (a + 2λ)/(a + λ) ≥ 0.75, so λ₂ = λ₁/4.
    expect(scg.scale).toBeCloseTo(lambda / 4, 15);
    expect(scg.iteration).toBe(1);
  });

  it('step 4: negative curvature raises λ and flips δ so that α > 0', async () => {
    // E = −½w² + ¼w⁴ at w = 0.5: E′ = −0.375, E″ = −0.25 < 0.
    const { evaluate, points } = oneDimensional(
      (w) => -0.5 * w * w + 0.25 * w ** 4,
      (w) => -w + w ** 3,
    );
    const scg = new ScaledConjugateGradient(new Float64Array([0.5]), { lambda: 1e-6 });
    const result = await scg.step(evaluate);
    // δ = E″p² + λp² < 0 → λ̄ = 2(λ − δ/p²) ≈ 0.5, δ ← −δ + λp² ≈ 0.25p², α = μ/δ ≈ 4:
    // the trial point is 0.5 + 4·0.375 = 2, uphill (E(2) = 2), so the step is rejected.
    // Exactly: with c = the finite-difference curvature (E′(0.5 + σ) − E′(0.5))/σ, λ̄ = −2c
    // (λ cancels), δ ← −c·p², α = 1/(−c).
    const df = (w: number) => -w + w ** 3;
    const c = (df(0.5 + 1e-4) - df(0.5)) / 1e-4;
    expect(points[2]).toBeCloseTo(0.5 + 0.375 / -c, 9);
    expect(points[2]).toBeCloseTo(2, 2);
    expect(result.moved).toBe(false);
    expect(scg.weights[0]).toBe(0.5);
    // λ = λ̄ ≈ 0.5, then step 8 adds δ(1 − Δ)/p² since Δ < 0.
    expect(scg.scale).toBeGreaterThan(0.5);
    // A rejected step reuses the curvature: the next iteration makes one evaluation.
    const next = await scg.step(evaluate);
    expect(next.evaluations).toBe(1);
    expect(points.length).toBe(4);
  });

  it('costs 2 evaluations per accepted iteration and 1 after a rejected one', async () => {
    const { evaluate } = quadratic(5, 6);
    const scg = new ScaledConjugateGradient(new Float64Array(6));
    let previousMoved = true;
    for (let k = 0; k < 6; k++) {
      const result = await scg.step(evaluate);
      const expected = (k === 0 ? 1 : 0) + (previousMoved ? 2 : 1);
      expect(result.evaluations).toBe(expected);
      previousMoved = result.moved;
    }
  });

  it('treats a non-finite error as a rejected step and recovers', async () => {
    // Minimum at w = 10, but the error is +∞ beyond w = 5: the first full step overshoots.
    const { evaluate } = oneDimensional(
      (w) => (w > 5 ? Number.POSITIVE_INFINITY : 0.5 * w * w - 10 * w),
      (w) => w - 10,
    );
    const scg = new ScaledConjugateGradient(new Float64Array([0]));
    const first = await scg.step(evaluate);
    expect(first.moved).toBe(false);
    expect(scg.error).toBe(0);
    for (let k = 0; k < 20; k++) await scg.step(evaluate);
    expect(scg.error).toBeLessThan(-30); // E(5) = −37.5
    expect(scg.weights[0]).toBeLessThanOrEqual(5);
    expect(Number.isFinite(scg.scale)).toBe(true);
  });

  it('a checkpoint taken just after a rejected step resumes identically', async () => {
    const { evaluate } = oneDimensional(
      (w) => -0.5 * w * w + 0.25 * w ** 4,
      (w) => -w + w ** 3,
    );
    const scg = new ScaledConjugateGradient(new Float64Array([0.5]));
    await scg.step(evaluate);
    const state = JSON.parse(JSON.stringify(scg.toJSON())) as ScgState;
    expect(state.success).toBe(false);
    const restored = ScaledConjugateGradient.fromJSON(state);
    for (let k = 0; k < 8; k++) {
      const x = await scg.step(evaluate);
      const y = await restored.step(evaluate);
      expect(y).toEqual(x);
    }
    expect(restored.toJSON()).toEqual(scg.toJSON());
    expect(scg.weights[0]).toBeCloseTo(1, 6); // the minimum of −½w² + ¼w⁴ on w > 0
  });

  it('keeps λ within bounds over a long run of good steps, so its state stays restorable', async () => {
    // Gradient descent on ½w²: every step is a near-perfect quadratic prediction (Δ ≈ 1).
    const evaluate: Evaluate = async (w) => ({
      error: 0.5 * w[0] * w[0],
      gradient: new Float64Array([w[0]]),
    });
    const scg = new ScaledConjugateGradient(new Float64Array([1]), { lambda: 1e-14 });
    for (let k = 0; k < 40 && !scg.converged; k++) await scg.step(evaluate);
    expect(scg.scale).toBeGreaterThanOrEqual(1e-15);
    expect(() => ScaledConjugateGradient.fromJSON(JSON.parse(JSON.stringify(scg.toJSON())))).not.toThrow();
  });

  it('validates options and saved states', () => {
    expect(() => new ScaledConjugateGradient(new Float64Array(2), { sigma: 0 })).toThrow(RangeError);
    expect(() => new ScaledConjugateGradient(new Float64Array(2), { lambda: -1 })).toThrow(RangeError);
    expect(() => new ScaledConjugateGradient(new Float64Array(2), { restartEvery: 0 })).toThrow(RangeError);
    expect(() => ScaledConjugateGradient.fromJSON({ kind: 'prcg' })).toThrow(TypeError);
    const state = new ScaledConjugateGradient(new Float64Array(2)).toJSON();
    expect(() => ScaledConjugateGradient.fromJSON({ ...state, r: [1] })).toThrow(TypeError);
    expect(() => ScaledConjugateGradient.fromJSON({ ...state, lambda: null })).toThrow(TypeError);
  });
});
