import { describe, expect, it } from 'vitest';
import { type ExemplarTable, syntheticDataset } from '../../framework/datasets/index.ts';
import { classCounts, sameBytes } from './helpers.ts';

/** Accuracy on `test` of the nearest class mean of `train`: a simple check that the data is learnable. */
function nearestMeanAccuracy(train: ExemplarTable, test: ExemplarTable, classes: number): number {
  const dim = train.dim;
  const means = new Float64Array(classes * dim);
  const counts = new Float64Array(classes);
  for (let r = 0; r < train.count; r++) {
    const c = train.labels[r];
    counts[c]++;
    for (let j = 0; j < dim; j++) means[c * dim + j] += train.features[r * dim + j];
  }
  for (let c = 0; c < classes; c++) for (let j = 0; j < dim; j++) means[c * dim + j] /= counts[c];
  let right = 0;
  for (let r = 0; r < test.count; r++) {
    let best = -1;
    let bestDistance = Infinity;
    for (let c = 0; c < classes; c++) {
      let d = 0;
      for (let j = 0; j < dim; j++) d += (test.features[r * dim + j] - means[c * dim + j]) ** 2;
      if (d < bestDistance) {
        bestDistance = d;
        best = c;
      }
    }
    if (best === test.labels[r]) right++;
  }
  return right / test.count;
}

describe('syntheticDataset', () => {
  it('has the asked shape, a 20% test set by default, and every class', () => {
    const data = syntheticDataset({ count: 10_000, dim: 7, classes: 4, seed: 3 });
    expect(data.dim).toBe(7);
    expect(data.classes).toEqual(['c0', 'c1', 'c2', 'c3']);
    expect(data.train.count).toBe(8000);
    expect(data.test.count).toBe(2000);
    expect(data.train.features).toBeInstanceOf(Float32Array);
    expect(data.train.features.length).toBe(8000 * 7);
    expect(data.test.labels).toBeInstanceOf(Int32Array);
    for (const n of classCounts(data.train, 4)) expect(n).toBeGreaterThan(1800);
    expect(data.train.features.every(Number.isFinite)).toBe(true);
  });

  it('is deterministic for a seed and different for another seed', () => {
    const options = { count: 3000, dim: 5, classes: 3, seed: 11, testFraction: 0.3 };
    const a = syntheticDataset(options);
    const b = syntheticDataset(options);
    expect(sameBytes(b.train.features, a.train.features)).toBe(true);
    expect(sameBytes(b.test.labels, a.test.labels)).toBe(true);
    expect(sameBytes(b.test.features, a.test.features)).toBe(true);
    expect(a.test.count).toBe(900);
    const c = syntheticDataset({ ...options, seed: 12 });
    expect(sameBytes(c.train.features, a.train.features)).toBe(false);
  });

  it('supports no test set and odd dimensions', () => {
    const data = syntheticDataset({ count: 11, dim: 3, classes: 2, seed: 1, testFraction: 0 });
    expect(data.train.count).toBe(11);
    expect(data.test.count).toBe(0);
    expect(data.test.features.length).toBe(0);
  });

  it.each([
    [{ count: 1, dim: 3, classes: 2 }],
    [{ count: 10, dim: 0, classes: 2 }],
    [{ count: 10, dim: 3, classes: 1 }],
    [{ count: 10, dim: 3, classes: 2, testFraction: 1 }],
    [{ count: 10, dim: 3, classes: 2, testFraction: -0.1 }],
    [{ count: 2.5, dim: 3, classes: 2 }],
  ])('refuses %o', (options) => {
    expect(() => syntheticDataset({ seed: 1, ...options })).toThrow(RangeError);
  });

  it('is learnable: a nearest-class-mean classifier scores well above chance', () => {
    const many = syntheticDataset({ count: 6000, dim: 20, classes: 10, seed: 5 });
    expect(nearestMeanAccuracy(many.train, many.test, 10)).toBeGreaterThan(0.9);
    const few = syntheticDataset({ count: 6000, dim: 4, classes: 5, seed: 5 });
    const accuracy = nearestMeanAccuracy(few.train, few.test, 5);
    expect(accuracy).toBeGreaterThan(0.5);
  });

  it('has unit Gaussian noise around the class centres', () => {
    const data = syntheticDataset({ count: 200_000, dim: 2, classes: 2, seed: 9, testFraction: 0 });
    // Per class and feature: deviation from the class mean ≈ 1.
    for (let c = 0; c < 2; c++) {
      for (let j = 0; j < 2; j++) {
        let n = 0;
        let sum = 0;
        let sq = 0;
        for (let r = 0; r < data.train.count; r++) {
          if (data.train.labels[r] !== c) continue;
          const v = data.train.features[r * 2 + j];
          n++;
          sum += v;
          sq += v * v;
        }
        const sd = Math.sqrt(sq / n - (sum / n) ** 2);
        expect(sd).toBeGreaterThan(0.97);
        expect(sd).toBeLessThan(1.03);
      }
    }
  });

  it('generates hundreds of MB quickly (500,000 × 100 = 200 MB)', () => {
    const started = performance.now();
    const data = syntheticDataset({ count: 500_000, dim: 100, classes: 10, seed: 1 });
    const elapsed = performance.now() - started;
    expect(data.train.features.byteLength + data.test.features.byteLength).toBe(500_000 * 100 * 4);
    expect(elapsed).toBeLessThan(10_000);
  }, 30_000);
});
