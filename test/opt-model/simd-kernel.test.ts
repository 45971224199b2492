import { describe, expect, it } from 'vitest';
import { createOptKernel, predictClasses } from '../../apps/opt/model/kernel.ts';
import {
  initWeights,
  type NetworkShape,
  parameterCount,
  weightLayout,
} from '../../apps/opt/model/network.ts';
import { createKernel, createSimdKernel } from '../../apps/opt/model/simd-kernel.ts';
import type { ExemplarColumns } from '../../framework/exemplars/columns.ts';
import { SeededRandom } from '../../framework/util/random.ts';
import { worstRelativeError } from '../runtime/helpers.ts';
import { makeColumns, randomColumns } from './helpers.ts';

/** max |a − b| / max |b| over the gradient entries (acc[2…]). */
function gradientDifference(a: Float64Array, b: Float64Array): number {
  let diff = 0;
  let scale = 0;
  for (let p = 2; p < b.length; p++) {
    diff = Math.max(diff, Math.abs(a[p] - b[p]));
    scale = Math.max(scale, Math.abs(b[p]));
  }
  return diff / scale;
}

function accumulate(
  kernel: ReturnType<typeof createOptKernel>,
  rows: ExemplarColumns,
  w: Float64Array,
  splits: readonly number[] = [rows.count],
): Float64Array {
  const acc = new Float64Array(kernel.accumulatorLength(w, rows.dim));
  let start = 0;
  for (const size of splits) {
    kernel.accumulate(rows, start, start + size, w, acc);
    start += size;
  }
  return acc;
}

/** Weights larger than initWeights gives, so hidden units and outputs leave their linear range. */
function weights(shape: NetworkShape, seed: number, scale: number): Float64Array {
  const w = initWeights(shape, new SeededRandom(seed));
  for (let p = 0; p < w.length; p++) w[p] *= scale;
  return w;
}

const SHAPES: NetworkShape[] = [
  { inputs: 784, hidden: 32, outputs: 10, loss: 'xent' },
  { inputs: 784, hidden: 32, outputs: 10, loss: 'mse' },
  // Padding everywhere: inputs not a multiple of 8, an odd hidden count, odd outputs.
  { inputs: 13, hidden: 5, outputs: 3, loss: 'xent' },
  { inputs: 61, hidden: 7, outputs: 2, loss: 'mse' },
];

describe('Opt SIMD kernel against the JS reference', () => {
  for (const shape of SHAPES) {
    const name = `${shape.inputs}-${shape.hidden}-${shape.outputs} ${shape.loss}`;
    it(`${name}: the same error to 1e-6 and gradient to 1e-5 on random data`, () => {
      const rows = randomColumns(5, 203, shape.inputs, shape.outputs);
      for (const scale of [1, 4]) {
        const w = weights(shape, 7, scale);
        const reference = accumulate(createOptKernel(shape), rows, w);
        const simd = accumulate(createSimdKernel(shape), rows, w);
        expect(simd[1]).toBe(rows.count);
        expect(Math.abs(simd[0] - reference[0]) / reference[0]).toBeLessThan(1e-6);
        expect(gradientDifference(simd, reference)).toBeLessThan(1e-5);
      }
    });

    it(`${name}: any split of the rows gives the same accumulator to 1e-9`, () => {
      const rows = randomColumns(9, 150, shape.inputs, shape.outputs);
      const w = weights(shape, 3, 2);
      const kernel = createSimdKernel(shape);
      const whole = accumulate(kernel, rows, w);
      const rng = new SeededRandom(11);
      for (let trial = 0; trial < 5; trial++) {
        const splits: number[] = [];
        for (let left = rows.count; left > 0; ) {
          const size = Math.min(left, rng.int(20));
          splits.push(size);
          left -= size;
        }
        const split = accumulate(kernel, rows, w, splits);
        expect(split[1]).toBe(rows.count);
        expect(worstRelativeError(split, whole)).toBeLessThan(1e-9);
      }
    });
  }

  it('adds to what the accumulator holds, so partial sums from workers add up', () => {
    const shape = SHAPES[2];
    const rows = randomColumns(2, 40, shape.inputs, shape.outputs);
    const w = weights(shape, 1, 1);
    const kernel = createSimdKernel(shape);
    const whole = accumulate(kernel, rows, w);
    const acc = new Float64Array(whole.length);
    kernel.accumulate(rows, 0, 17, w, acc);
    const second = new Float64Array(whole.length);
    kernel.accumulate(rows, 17, 40, w, second);
    for (let p = 0; p < acc.length; p++) acc[p] += second[p];
    expect(worstRelativeError(acc, whole)).toBeLessThan(1e-12);
  });

  it('a pass session (beginPass … endPass) gives what separate calls give, split anywhere', () => {
    for (const shape of [SHAPES[0], SHAPES[3]]) {
      const rows = randomColumns(4, 120, shape.inputs, shape.outputs);
      const w = weights(shape, 5, 2);
      const kernel = createSimdKernel(shape);
      const calls = accumulate(kernel, rows, w, [16, 33, 7, 64]);
      const acc = new Float64Array(calls.length);
      // Two sessions into the same accumulator, as a pass interrupted by a move and resumed.
      kernel.beginPass?.(w, acc);
      kernel.accumulate(rows, 0, 16, w, acc);
      kernel.accumulate(rows, 16, 49, w, acc);
      kernel.endPass?.(acc);
      kernel.beginPass?.(w, acc);
      kernel.accumulate(rows, 49, 56, w, acc);
      kernel.accumulate(rows, 56, 120, w, acc);
      kernel.endPass?.(acc);
      expect(worstRelativeError(acc, calls)).toBeLessThan(1e-12);
      // A call with other arrays during a session ends the session first: nothing is lost.
      const other = new Float64Array(calls.length);
      const mixed = new Float64Array(calls.length);
      kernel.beginPass?.(w, mixed);
      kernel.accumulate(rows, 0, 60, w, mixed);
      kernel.accumulate(rows, 60, 120, w, other);
      kernel.accumulate(rows, 60, 120, w, mixed);
      kernel.endPass?.(mixed);
      expect(worstRelativeError(mixed, calls)).toBeLessThan(1e-12);
      expect(other[1]).toBe(60);
    }
  });

  it('predicts the classes the JS reference predicts, and leaves a pass session whole', () => {
    for (const shape of SHAPES) {
      // 203 rows (whole blocks of 16 and a short last one), features centred on 0.
      const uniform = randomColumns(9, 203, shape.inputs, shape.outputs);
      const rows = makeColumns(
        uniform.features.map((x) => 4 * (x - 0.5)),
        uniform.labels,
        shape.inputs,
      );
      for (const scale of [2, 16]) {
        // Random weights, no output bias; drawn until the rows fall into several classes,
        // or an agreement would say little.
        const rng = new SeededRandom(scale);
        let w = new Float64Array(0);
        let expected: Int32Array = new Int32Array(0);
        while (new Set(expected).size < 2) {
          w = new Float64Array(parameterCount(shape)).map(() => scale * (rng.next() - 0.5));
          w.fill(0, weightLayout(shape).b2);
          expected = predictClasses(shape, w, rows.features, rows.count, rows.dim);
        }
        const kernel = createSimdKernel(shape);
        expect(Array.from(kernel.predict(rows.features, rows.count, rows.dim, w))).toEqual(
          Array.from(expected),
        );
      }
      // A prediction in the middle of a session ends the session first: the gradient is whole.
      const w = weights(shape, 5, 2);
      const kernel = createSimdKernel(shape);
      const calls = accumulate(kernel, rows, w);
      const acc = new Float64Array(calls.length);
      kernel.beginPass?.(w, acc);
      kernel.accumulate(rows, 0, 100, w, acc);
      kernel.predict(rows.features, rows.count, rows.dim, weights(shape, 6, 1));
      kernel.accumulate(rows, 100, 203, w, acc);
      kernel.endPass?.(acc);
      expect(worstRelativeError(acc, calls)).toBeLessThan(1e-12);
    }
  });

  it('refuses a bad label before touching the accumulator, and a wrong shape or range', () => {
    const shape = SHAPES[2];
    const features = new Float32Array(2 * shape.inputs).fill(0.5);
    const rows = makeColumns(features, Int32Array.from([1, 3]), shape.inputs);
    const w = weights(shape, 1, 1);
    const kernel = createSimdKernel(shape);
    const acc = new Float64Array(kernel.accumulatorLength(w, shape.inputs));
    expect(() => kernel.accumulate(rows, 0, 2, w, acc)).toThrow(/row 1 has label 3/);
    expect(acc.every((v) => v === 0)).toBe(true);
    expect(() => kernel.accumulate(rows, 1, 3, w, acc)).toThrow(RangeError);
    expect(() => kernel.accumulate(rows, 0, 1, w.subarray(1), acc)).toThrow(/weights given/);
    expect(() => createKernel({ inputs: 3, hidden: 0, outputs: 2, loss: 'xent' })).toThrow(/hidden/);
    expect(() => kernel.predict(features, 3, shape.inputs, w)).toThrow(/feature values for 3 rows/);
    expect(() => kernel.predict(features, 1, shape.inputs + 1, w)).toThrow(/features, network expects/);
  });

  it('an empty range adds nothing; extreme pre-activations stay finite', () => {
    const shape: NetworkShape = { inputs: 16, hidden: 4, outputs: 3, loss: 'xent' };
    const rows = randomColumns(4, 12, 16, 3);
    const w = weights(shape, 2, 500);
    const kernel = createSimdKernel(shape);
    const acc = new Float64Array(kernel.accumulatorLength(w, 16));
    kernel.accumulate(rows, 5, 5, w, acc);
    expect(acc.every((v) => v === 0)).toBe(true);
    kernel.accumulate(rows, 0, 12, w, acc);
    expect(acc.every(Number.isFinite)).toBe(true);
    const reference = accumulate(createOptKernel(shape), rows, w);
    expect(Math.abs(acc[0] - reference[0]) / reference[0]).toBeLessThan(1e-6);
  });
});
