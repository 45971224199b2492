import { describe, expect, it } from 'vitest';
import { accuracy, createOptKernel, evaluateFull, predictClasses } from '../../apps/opt/model/kernel.ts';
import { initWeights, type NetworkShape, parameterCount } from '../../apps/opt/model/network.ts';
import type { ExemplarColumns } from '../../framework/exemplars/columns.ts';
import { SeededRandom } from '../../framework/util/random.ts';
import { makeColumns, randomColumns } from './helpers.ts';

const sigmoid = (a: number) => 1 / (1 + Math.exp(-a));

/**
 * The loss written down as plainly as possible, one row at a time: the definition the
 * kernel is checked against. Mean over the rows.
 *   mse:  ½Σ_k (sigmoid(a_k) − t_k)²,  t one-hot
 *   xent: −log softmax(a)[label]
 */
function referenceError(shape: NetworkShape, w: Float64Array, rows: ExemplarColumns): number {
  const { inputs: I, hidden: H, outputs: O } = shape;
  const b1 = H * I;
  const w2 = b1 + H;
  const b2 = w2 + O * H;
  let total = 0;
  for (let n = 0; n < rows.count; n++) {
    const h: number[] = [];
    for (let j = 0; j < H; j++) {
      let s = w[b1 + j];
      for (let i = 0; i < I; i++) s += w[j * I + i] * rows.features[n * I + i];
      h.push(sigmoid(s));
    }
    const a: number[] = [];
    for (let k = 0; k < O; k++) {
      let s = w[b2 + k];
      for (let j = 0; j < H; j++) s += w[w2 + k * H + j] * h[j];
      a.push(s);
    }
    const label = rows.labels[n];
    if (shape.loss === 'mse') {
      for (let k = 0; k < O; k++) total += 0.5 * (sigmoid(a[k]) - (k === label ? 1 : 0)) ** 2;
    } else {
      const max = Math.max(...a);
      const logSum = max + Math.log(a.reduce((s, v) => s + Math.exp(v - max), 0));
      total += logSum - a[label];
    }
  }
  return total / rows.count;
}

/** Central finite differences of the reference error, one weight at a time. */
function finiteDifferenceGradient(shape: NetworkShape, w: Float64Array, rows: ExemplarColumns): Float64Array {
  const h = 1e-5;
  const out = new Float64Array(w.length);
  const probe = Float64Array.from(w);
  for (let p = 0; p < w.length; p++) {
    probe[p] = w[p] + h;
    const plus = referenceError(shape, probe, rows);
    probe[p] = w[p] - h;
    const minus = referenceError(shape, probe, rows);
    probe[p] = w[p];
    out[p] = (plus - minus) / (2 * h);
  }
  return out;
}

function maxAbs(v: Float64Array): number {
  let m = 0;
  for (const x of v) m = Math.max(m, Math.abs(x));
  return m;
}

/** Weights large enough (×3 the initial scale) that the sigmoids are not all near-linear. */
function testWeights(shape: NetworkShape, seed: number): Float64Array {
  const w = initWeights(shape, new SeededRandom(seed));
  for (let p = 0; p < w.length; p++) w[p] *= 3;
  return w;
}

// Shapes chosen to exercise the 2×4 register tile and its leftovers: an odd hidden count
// (the last unit done row by row) and row counts that are not a multiple of the block of 4.
const shapes: NetworkShape[] = [
  { inputs: 5, hidden: 4, outputs: 3, loss: 'mse' },
  { inputs: 5, hidden: 4, outputs: 3, loss: 'xent' },
  { inputs: 7, hidden: 5, outputs: 2, loss: 'mse' },
  { inputs: 7, hidden: 5, outputs: 4, loss: 'xent' },
  { inputs: 3, hidden: 1, outputs: 2, loss: 'xent' },
];

describe('opt kernel: error and gradient', () => {
  for (const shape of shapes) {
    const name = `${shape.inputs}-${shape.hidden}-${shape.outputs} ${shape.loss}`;
    it(`${name}: error matches the plain definition and the gradient matches central differences`, () => {
      const rows = randomColumns(11, 23, shape.inputs, shape.outputs);
      const w = testWeights(shape, 5);
      const { error, gradient, count } = evaluateFull(shape, w, rows);
      expect(count).toBe(23);
      expect(error).toBeCloseTo(referenceError(shape, w, rows), 12);
      const fd = finiteDifferenceGradient(shape, w, rows);
      const scale = maxAbs(fd);
      expect(scale).toBeGreaterThan(1e-3);
      for (let p = 0; p < w.length; p++) {
        // Relative to the gradient's size: central differences at h = 1e-5 are good to ~1e-10.
        expect(Math.abs(gradient[p] - fd[p]) / scale).toBeLessThan(1e-6);
        // And entry by entry where the entry is not tiny.
        if (Math.abs(fd[p]) > 1e-3 * scale) {
          expect(Math.abs(gradient[p] - fd[p]) / Math.abs(fd[p])).toBeLessThan(1e-5);
        }
      }
    });
  }

  it('cross-entropy stays finite for a confidently wrong row (log-sum-exp, no underflow)', () => {
    const shape: NetworkShape = { inputs: 1, hidden: 1, outputs: 2, loss: 'xent' };
    const w = new Float64Array(parameterCount(shape)); // W1, b1, W2 (2×1), b2 (2)
    w[5] = -1000; // output 1's bias: a_1 − a_0 = −1000, so softmax[1] = e^−1000 underflows
    const rows = makeColumns(new Float32Array([0]), new Int32Array([1]), 1);
    const { error, gradient } = evaluateFull(shape, w, rows);
    expect(error).toBeCloseTo(1000, 9);
    expect(gradient[4]).toBeCloseTo(1, 12); // ∂/∂b2_0 = softmax_0 − 0
    expect(gradient[5]).toBeCloseTo(-1, 12); // ∂/∂b2_1 = softmax_1 − 1
  });
});

describe('opt kernel: partitions add up (the exactly-once basis)', () => {
  for (const loss of ['mse', 'xent'] as const) {
    it(`${loss}: [0,n) equals the sum over any split into pieces, to rounding`, () => {
      const shape: NetworkShape = { inputs: 9, hidden: 5, outputs: 3, loss };
      const rows = randomColumns(3, 61, shape.inputs, shape.outputs);
      const w = testWeights(shape, 8);
      const kernel = createOptKernel(shape);
      const length = kernel.accumulatorLength(w, shape.inputs);
      expect(length).toBe(2 + parameterCount(shape));
      const whole = new Float64Array(length);
      kernel.accumulate(rows, 0, rows.count, w, whole);
      expect(whole[1]).toBe(rows.count);

      const rng = new SeededRandom(99);
      const splits = [
        [0, 61],
        [0, 1, 61],
        [0, 4, 61],
        [0, 30, 61],
        [0, 60, 61],
        [0, 0, 61, 61],
      ];
      for (let t = 0; t < 10; t++) {
        const cuts = [0, rng.int(62), rng.int(62), rng.int(62), rng.int(62), 61].sort((a, b) => a - b);
        splits.push(cuts);
      }
      for (const cuts of splits) {
        // Each piece into its own accumulator (as separate workers would), then added.
        const sum = new Float64Array(length);
        for (let c = 0; c + 1 < cuts.length; c++) {
          const part = new Float64Array(length);
          kernel.accumulate(rows, cuts[c], cuts[c + 1], w, part);
          for (let i = 0; i < length; i++) sum[i] += part[i];
        }
        expect(sum[1]).toBe(whole[1]);
        const scale = maxAbs(whole);
        for (let i = 0; i < length; i++) {
          expect(Math.abs(sum[i] - whole[i])).toBeLessThanOrEqual(
            1e-12 * Math.max(Math.abs(whole[i]), scale),
          );
        }
      }
    });
  }

  it('accumulating into one accumulator piece by piece matches too, and an empty range adds nothing', () => {
    const shape: NetworkShape = { inputs: 6, hidden: 3, outputs: 2, loss: 'xent' };
    const rows = randomColumns(4, 17, 6, 2);
    const w = testWeights(shape, 2);
    const kernel = createOptKernel(shape);
    const whole = new Float64Array(kernel.accumulatorLength(w, 6));
    kernel.accumulate(rows, 0, 17, w, whole);
    const pieces = new Float64Array(whole.length);
    for (let s = 0; s < 17; s += 3) kernel.accumulate(rows, s, Math.min(17, s + 3), w, pieces);
    kernel.accumulate(rows, 5, 5, w, pieces);
    const scale = maxAbs(whole);
    for (let i = 0; i < whole.length; i++)
      expect(Math.abs(pieces[i] - whole[i])).toBeLessThanOrEqual(1e-12 * scale);
  });

  it('rejects mismatched dimensions, ranges, accumulators and labels', () => {
    const shape: NetworkShape = { inputs: 4, hidden: 2, outputs: 3, loss: 'mse' };
    const kernel = createOptKernel(shape);
    const w = new Float64Array(parameterCount(shape));
    const acc = new Float64Array(2 + w.length);
    const rows = randomColumns(1, 5, 4, 3);
    expect(() => kernel.accumulatorLength(w, 5)).toThrow(RangeError);
    expect(() => kernel.accumulate(rows, 0, 5, new Float64Array(3), acc)).toThrow(RangeError);
    expect(() => kernel.accumulate(rows, 2, 6, w, acc)).toThrow(RangeError);
    expect(() => kernel.accumulate(rows, 3, 2, w, acc)).toThrow(RangeError);
    expect(() => kernel.accumulate(rows, 0, 5, w, new Float64Array(3))).toThrow(RangeError);
    const bad = makeColumns(new Float32Array(8), new Int32Array([0, 3]), 4);
    expect(() => kernel.accumulate(bad, 0, 2, w, acc)).toThrow(/label 3/);
    expect(() => createOptKernel({ inputs: 0, hidden: 2, outputs: 3, loss: 'mse' })).toThrow(TypeError);
  });
});

describe('predictClasses and accuracy', () => {
  it('predicts the arg-max of the forward pass', () => {
    // 2 inputs, 2 hidden, 3 outputs, hand-set so each class is picked by one input pattern.
    const shape: NetworkShape = { inputs: 2, hidden: 2, outputs: 3, loss: 'xent' };
    const w = new Float64Array(parameterCount(shape));
    // W1 = identity × 10, b1 = −5: h ≈ (x0 > 0.5, x1 > 0.5)
    w[0] = 10;
    w[3] = 10;
    w[4] = -5;
    w[5] = -5;
    // W2: class 1 ← h0, class 2 ← h1; b2: class 0 wins when both hidden units are off.
    w[6 + 2] = 10; // W2[1][0]
    w[6 + 5] = 10; // W2[2][1]
    w[12] = 1; // b2_0
    const features = new Float32Array([0, 0, 1, 0, 0, 1, 1, 0]);
    const predicted = predictClasses(shape, w, features, 4, 2);
    expect(Array.from(predicted)).toEqual([0, 1, 2, 1]);
    expect(accuracy(predicted, new Int32Array([0, 1, 2, 2]))).toBe(0.75);
    expect(accuracy(new Int32Array(0), new Int32Array(0))).toBe(0);
    expect(() => accuracy(new Int32Array(3), new Int32Array(2))).toThrow(RangeError);
    expect(() => predictClasses(shape, w, features, 5, 2)).toThrow(RangeError);
    expect(() => predictClasses(shape, w, features, 4, 3)).toThrow(RangeError);
  });

  it('agrees with the mse network too (sigmoid outputs are monotone in the pre-activation)', () => {
    const shape: NetworkShape = { inputs: 5, hidden: 3, outputs: 4, loss: 'mse' };
    const rows = randomColumns(7, 30, 5, 4);
    const w = testWeights(shape, 3);
    const predicted = predictClasses(shape, w, rows.features, rows.count, rows.dim);
    // Recompute with explicit sigmoid outputs.
    for (let n = 0; n < rows.count; n++) {
      const h = [0, 1, 2].map((j) => {
        let s = w[15 + j];
        for (let i = 0; i < 5; i++) s += w[j * 5 + i] * rows.features[n * 5 + i];
        return sigmoid(s);
      });
      const y = [0, 1, 2, 3].map((k) =>
        sigmoid(w[30 + k] + h.reduce((s, hj, j) => s + w[18 + k * 3 + j] * hj, 0)),
      );
      expect(predicted[n]).toBe(y.indexOf(Math.max(...y)));
    }
  });
});
