import { describe, expect, it } from 'vitest';
import { initWeights, type NetworkShape, weightLayout } from '../../apps/opt/model/network.ts';
import { addWeightDecay, decayPenalty } from '../../apps/opt/model/weight-decay.ts';
import { SeededRandom } from '../../framework/util/random.ts';

const shape: NetworkShape = { inputs: 5, hidden: 3, outputs: 2, loss: 'xent' };
const layout = weightLayout(shape);

describe('addWeightDecay', () => {
  it('adds (λ/2)·Σw² over W1 and W2 to the error and its exact derivative to the gradient', () => {
    const w = initWeights(shape, new SeededRandom(4));
    const lambda = 0.01;
    const gradient = new Float64Array(w.length).fill(0.5);
    const error = addWeightDecay(shape, lambda, w, 2, gradient);
    // Central differences of the penalty alone, weight by weight.
    const penalty = (v: Float64Array) => addWeightDecay(shape, lambda, v, 0, new Float64Array(v.length));
    const h = 1e-6;
    for (let p = 0; p < w.length; p++) {
      const plus = Float64Array.from(w);
      const minus = Float64Array.from(w);
      plus[p] += h;
      minus[p] -= h;
      const numeric = (penalty(plus) - penalty(minus)) / (2 * h);
      expect(gradient[p] - 0.5).toBeCloseTo(numeric, 8);
    }
    let squares = 0;
    for (let p = 0; p < w.length; p++) {
      const bias = (p >= layout.b1 && p < layout.w2) || p >= layout.b2;
      if (!bias) squares += w[p] * w[p];
    }
    expect(error).toBeCloseTo(2 + 0.5 * lambda * squares, 12);
    // The term alone, as reports take it off the error to compare it with the validation error.
    expect(decayPenalty(shape, lambda, w)).toBeCloseTo(error - 2, 14);
    expect(decayPenalty(shape, 0, w)).toBe(0);
  });

  it('leaves the biases alone, does nothing at λ = 0, and refuses a negative λ or a wrong length', () => {
    const w = new Float64Array(layout.count).fill(3);
    const gradient = new Float64Array(layout.count);
    addWeightDecay(shape, 0.1, w, 0, gradient);
    for (let p = layout.b1; p < layout.w2; p++) expect(gradient[p]).toBe(0);
    for (let p = layout.b2; p < layout.count; p++) expect(gradient[p]).toBe(0);
    expect(gradient[0]).toBeCloseTo(0.3, 12);
    const untouched = new Float64Array(layout.count);
    expect(addWeightDecay(shape, 0, w, 1.5, untouched)).toBe(1.5);
    expect(untouched.every((v) => v === 0)).toBe(true);
    expect(() => addWeightDecay(shape, -1, w, 0, gradient)).toThrow(RangeError);
    expect(() => addWeightDecay(shape, 0.1, w.subarray(1), 0, gradient)).toThrow(RangeError);
  });
});
