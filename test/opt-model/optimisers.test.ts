import { describe, expect, it } from 'vitest';
import {
  accuracy,
  createOptimiser,
  type Evaluate,
  evaluateFull,
  type Optimiser,
  type OptimiserName,
  predictClasses,
  restoreOptimiser,
} from '../../apps/opt/model/index.ts';
import { quadratic, smallProblem } from './helpers.ts';

/** What both optimisers must do; each file of its own tests the parts only it has. */
const names: OptimiserName[] = ['scg', 'prcg'];

/** Round-trip through JSON text, as a checkpoint file would. */
function checkpoint(optimiser: Optimiser): Optimiser {
  return restoreOptimiser(JSON.parse(JSON.stringify(optimiser.toJSON())));
}

describe.each(names)('%s', (name) => {
  it('minimises a 10-dimensional convex quadratic in about n iterations', async () => {
    const n = 10;
    const { evaluate, minimum, solution } = quadratic(3, n);
    const optimiser = createOptimiser(name, new Float64Array(n));
    for (let k = 0; k < 2 * n && !optimiser.converged; k++) await optimiser.step(evaluate);
    expect(optimiser.error - minimum).toBeLessThan(1e-10 * Math.abs(minimum));
    const w = optimiser.weights;
    for (let i = 0; i < n; i++) expect(w[i]).toBeCloseTo(solution[i], 5);
  });

  for (const loss of ['mse', 'xent'] as const) {
    it(`${loss}: trains a 10-8-3 network on 200 seeded exemplars to > 90 % training accuracy`, async () => {
      const { shape, rows, initial } = smallProblem(loss);
      const evaluate: Evaluate = async (w) => evaluateFull(shape, w, rows);
      const start = evaluateFull(shape, initial, rows).error;
      const before = accuracy(
        predictClasses(shape, initial, rows.features, rows.count, rows.dim),
        rows.labels,
      );
      const optimiser = createOptimiser(name, initial);
      let previous = Number.POSITIVE_INFINITY;
      for (let k = 0; k < 40; k++) {
        const result = await optimiser.step(evaluate);
        expect(result.error).toBe(optimiser.error);
        // Both accept only steps that lower the error.
        expect(result.error).toBeLessThanOrEqual(previous);
        previous = result.error;
      }
      const after = accuracy(
        predictClasses(shape, optimiser.weights, rows.features, rows.count, rows.dim),
        rows.labels,
      );
      expect(before).toBeLessThan(0.6);
      expect(after).toBeGreaterThan(0.9);
      expect(optimiser.error).toBeLessThan(0.1 * start);
      // The optimiser's error is the error at the weights it reports.
      expect(evaluateFull(shape, optimiser.weights, rows).error).toBe(optimiser.error);
    });
  }

  it('a checkpoint restored from JSON continues exactly as the original', async () => {
    const { shape, rows, initial } = smallProblem('xent');
    const evaluate: Evaluate = async (w) => evaluateFull(shape, w, rows);
    const original = createOptimiser(name, initial);
    // Before the first step, after one, and well into the run.
    for (const at of [0, 1, 7]) {
      while ((original.toJSON() as { iterations: number }).iterations < at) await original.step(evaluate);
      const restored = checkpoint(original);
      expect(restored.toJSON()).toEqual(original.toJSON());
      const fork = checkpoint(original); // a second copy, so `original` can go on afterwards
      for (let k = 0; k < 5; k++) {
        const a = await fork.step(evaluate);
        const b = await restored.step(evaluate);
        expect(b).toEqual(a);
        expect(Math.abs(b.error - a.error)).toBeLessThanOrEqual(1e-12 * Math.abs(a.error));
        expect(restored.weights).toEqual(fork.weights);
      }
      expect(restored.toJSON()).toEqual(fork.toJSON());
    }
  });

  it('stops (converged) at an exact stationary point, without moving', async () => {
    const evaluate: Evaluate = async (w) => ({
      error: 0.5 * w.reduce((s, v) => s + v * v, 0),
      gradient: w.slice(),
    });
    const optimiser = createOptimiser(name, new Float64Array(4));
    const result = await optimiser.step(evaluate);
    expect(optimiser.converged).toBe(true);
    expect(result.moved).toBe(false);
    expect(optimiser.error).toBe(0);
  });

  it('refuses a second step while one is running, and a gradient of the wrong length', async () => {
    const { evaluate } = quadratic(1, 3);
    // Evaluations wait for `release`, so the first step is surely still running.
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const slow: Evaluate = async (w) => {
      await held;
      return evaluate(w);
    };
    const optimiser = createOptimiser(name, new Float64Array(3));
    const first = optimiser.step(slow);
    await expect(optimiser.step(evaluate)).rejects.toThrow(/still running/);
    expect(() => optimiser.toJSON()).toThrow(/still running/);
    release();
    await first;
    expect(() => optimiser.toJSON()).not.toThrow();
    const wrong = createOptimiser(name, new Float64Array(3));
    await expect(wrong.step(async () => ({ error: 0, gradient: new Float64Array(2) }))).rejects.toThrow(
      RangeError,
    );
  });

  it('does not change the weights it was given, and hands out copies', async () => {
    const initial = new Float64Array([1, -2, 3]);
    const { evaluate } = quadratic(2, 3);
    const optimiser = createOptimiser(name, initial);
    await optimiser.step(evaluate);
    expect(Array.from(initial)).toEqual([1, -2, 3]);
    const w = optimiser.weights;
    w[0] = 1e9;
    expect(optimiser.weights[0]).not.toBe(1e9);
  });
});
