import { describe, expect, it } from 'vitest';
import {
  effectiveWeights,
  isNoHostAvailable,
  NoHostAvailable,
  PartitionInputError,
  partitionBySpeed,
  type WorkerCapacity,
} from '../../framework/partition/index.ts';

const full = (...speeds: number[]): WorkerCapacity[] =>
  speeds.map((speed) => ({ speed, load: 1, available: true }));

describe('partitionBySpeed', () => {
  it('splits exactly in proportion when the quotas are integers', () => {
    expect(partitionBySpeed(100, full(1, 2, 3, 4))).toEqual([10, 20, 30, 40]);
  });

  it('is exact to one exemplar and always sums to the total', () => {
    const workers = full(1, 1.5, 2.25, 7);
    for (let total = 0; total < 300; total++) {
      const shares = partitionBySpeed(total, workers);
      expect(shares.reduce((a, b) => a + b, 0)).toBe(total);
      const w = workers.map((x) => x.speed);
      const sw = w.reduce((a, b) => a + b, 0);
      shares.forEach((s, i) => {
        expect(Math.abs(s - (total * w[i]) / sw)).toBeLessThan(1);
      });
    }
  });

  it('uses speed × load', () => {
    const workers: WorkerCapacity[] = [
      { speed: 2, load: 0.5, available: true },
      { speed: 1, load: 1, available: true },
    ];
    expect(partitionBySpeed(10, workers)).toEqual([5, 5]);
  });

  it('breaks ties by lower index without holdings, toward current holders with them', () => {
    expect(partitionBySpeed(10, full(1, 1, 1))).toEqual([4, 3, 3]);
    expect(partitionBySpeed(11, full(1, 1, 1))).toEqual([4, 4, 3]);
    expect(partitionBySpeed(10, full(1, 1, 1), [0, 0, 10])).toEqual([3, 3, 4]);
    expect(partitionBySpeed(11, full(1, 1, 1), [0, 6, 5])).toEqual([3, 4, 4]);
    // Holding exactly the floor is no reason to be preferred.
    expect(partitionBySpeed(10, full(1, 1, 1), [3, 3, 4])).toEqual([3, 3, 4]);
    expect(partitionBySpeed(10, full(1, 1, 1), [4, 3, 3])).toEqual([4, 3, 3]);
  });

  it('treats float-noise remainders as ties (0.1 + 0.2 style speeds)', () => {
    // Quotas 1/3 each up to rounding: the tie rule, not float noise, decides.
    const workers = full(0.1, 0.30000000000000004 - 0.2, 0.1);
    expect(partitionBySpeed(1, workers)).toEqual([1, 0, 0]);
    expect(partitionBySpeed(1, workers, [0, 0, 1])).toEqual([0, 0, 1]);
  });

  it('gives nothing to unavailable workers; vacate all but one puts everything on it', () => {
    const workers: WorkerCapacity[] = full(5, 1, 3, 2).map((w, i) => ({ ...w, available: i === 1 }));
    expect(partitionBySpeed(12345, workers)).toEqual([0, 12345, 0, 0]);
    const some = full(1, 1, 1, 1).map((w, i) => ({ ...w, available: i !== 2 }));
    expect(partitionBySpeed(9, some)).toEqual([3, 3, 0, 3]);
  });

  it('throws NoHostAvailable when every worker is vacated (or there is none)', () => {
    const none = full(1, 2).map((w) => ({ ...w, available: false }));
    expect(() => partitionBySpeed(10, none)).toThrow(NoHostAvailable);
    expect(() => partitionBySpeed(0, none)).toThrow(NoHostAvailable);
    expect(() => partitionBySpeed(10, [])).toThrow(NoHostAvailable);
    try {
      partitionBySpeed(10, none);
    } catch (e) {
      expect(isNoHostAvailable(e)).toBe(true);
      expect((e as NoHostAvailable).workerCount).toBe(2);
      expect((e as Error).message).toMatch(/no host available/);
    }
  });

  it('handles zero total and huge speed ranges', () => {
    expect(partitionBySpeed(0, full(1, 2))).toEqual([0, 0]);
    expect(partitionBySpeed(10, full(1e300, 1e300))).toEqual([5, 5]);
    expect(partitionBySpeed(3, full(1e-300, 1e300))).toEqual([0, 3]);
    expect(effectiveWeights(full(1e308, 1e308, 1e308)).reduce((a, b) => a + b)).toBe(3);
  });

  it('rejects invalid input with clear errors', () => {
    const ok = full(1, 1);
    expect(() => partitionBySpeed(-1, ok)).toThrow(PartitionInputError);
    expect(() => partitionBySpeed(1.5, ok)).toThrow(/total must be a non-negative integer/);
    expect(() => partitionBySpeed(Number.NaN, ok)).toThrow(PartitionInputError);
    expect(() => partitionBySpeed(1, full(1, 0))).toThrow(/workers\[1\]\.speed must be a finite number > 0/);
    expect(() => partitionBySpeed(1, full(1, Number.POSITIVE_INFINITY))).toThrow(PartitionInputError);
    expect(() => partitionBySpeed(1, full(Number.NaN))).toThrow(PartitionInputError);
    expect(() => partitionBySpeed(1, [{ speed: 1, load: 0, available: true }])).toThrow(
      /workers\[0\]\.load must be a fraction in \(0, 1\]/,
    );
    expect(() => partitionBySpeed(1, [{ speed: 1, load: 1.5, available: true }])).toThrow(
      PartitionInputError,
    );
    expect(() => partitionBySpeed(1, ok, [1])).toThrow(/current has 1 entries but there are 2 workers/);
    expect(() => partitionBySpeed(1, ok, [1, -1])).toThrow(/current\[1\]/);
    expect(() => partitionBySpeed(1, [{ speed: 5e-324, load: 0.5, available: true }])).toThrow(/underflows/);
  });
});
