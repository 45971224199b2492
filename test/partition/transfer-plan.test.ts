import { describe, expect, it } from 'vitest';
import {
  estimatePassTime,
  NoHostAvailable,
  PartitionInputError,
  planRedistribution,
  planTransfers,
  shouldRedistribute,
  type Transfer,
  type WorkerCapacity,
} from '../../framework/partition/index.ts';

const full = (...speeds: number[]): WorkerCapacity[] =>
  speeds.map((speed) => ({ speed, load: 1, available: true }));

function apply(current: readonly number[], transfers: readonly Transfer[]): number[] {
  const out = [...current];
  for (const t of transfers) {
    out[t.from] -= t.count;
    out[t.to] += t.count;
  }
  return out;
}

describe('planTransfers', () => {
  it('plans nothing when already at target', () => {
    expect(planTransfers([3, 4, 5], [3, 4, 5])).toEqual([]);
  });

  it('moves only the surplus (fewest exemplars), greedy in index order', () => {
    const transfers = planTransfers([50, 10, 40, 0], [25, 25, 25, 25]);
    expect(transfers).toEqual([
      { from: 0, to: 1, count: 15 },
      { from: 0, to: 3, count: 10 },
      { from: 2, to: 3, count: 15 },
    ]);
    expect(apply([50, 10, 40, 0], transfers)).toEqual([25, 25, 25, 25]);
  });

  it("splits a vacated worker's data across several receivers at once", () => {
    const transfers = planTransfers([300, 300, 300, 300], [0, 400, 400, 400]);
    expect(transfers).toEqual([
      { from: 0, to: 1, count: 100 },
      { from: 0, to: 2, count: 100 },
      { from: 0, to: 3, count: 100 },
    ]);
  });

  it('splits every vacated worker over the receivers, evacuations listed first', () => {
    // Workers 0 and 1 vacated; 2 sends (a load drop), 3 and 4 receive.
    const current = [100, 100, 100, 0, 0];
    const targets = [0, 0, 50, 125, 125];
    const transfers = planTransfers(current, targets);
    expect(transfers).toEqual([
      { from: 0, to: 3, count: 50 },
      { from: 0, to: 4, count: 50 },
      { from: 1, to: 3, count: 50 },
      { from: 1, to: 4, count: 50 },
      { from: 2, to: 3, count: 25 },
      { from: 2, to: 4, count: 25 },
    ]);
    expect(apply(current, transfers)).toEqual(targets);
  });

  it('splits proportionally to need, exact to one exemplar', () => {
    const transfers = planTransfers([10, 0, 0, 0], [0, 1, 3, 6]);
    expect(transfers).toEqual([
      { from: 0, to: 1, count: 1 },
      { from: 0, to: 2, count: 3 },
      { from: 0, to: 3, count: 6 },
    ]);
    const odd = planTransfers([7, 0, 0], [0, 4, 3]);
    expect(odd).toEqual([
      { from: 0, to: 1, count: 4 },
      { from: 0, to: 2, count: 3 },
    ]);
  });

  it('rejects mismatched input', () => {
    expect(() => planTransfers([1, 2], [3])).toThrow(PartitionInputError);
    expect(() => planTransfers([1, 2], [2, 2])).toThrow(/targets sum to 4 but current holdings sum to 3/);
    expect(() => planTransfers([1, -1], [0, 0])).toThrow(PartitionInputError);
  });
});

describe('planRedistribution', () => {
  it('recomputes shares from speeds and moves the minimum', () => {
    const plan = planRedistribution([25, 25, 25, 25], full(1, 1, 1, 2));
    expect(plan.targets).toEqual([20, 20, 20, 40]);
    expect(plan.moved).toBe(15);
    expect(plan.transfers).toEqual([
      { from: 0, to: 3, count: 5 },
      { from: 1, to: 3, count: 5 },
      { from: 2, to: 3, count: 5 },
    ]);
  });

  it('evacuates a vacated host to all others in parallel', () => {
    const workers = full(1, 1, 1, 1).map((w, i) => ({ ...w, available: i !== 2 }));
    const plan = planRedistribution([30, 30, 30, 30], workers);
    expect(plan.targets).toEqual([40, 40, 0, 40]);
    expect(plan.transfers).toEqual([
      { from: 2, to: 0, count: 10 },
      { from: 2, to: 1, count: 10 },
      { from: 2, to: 3, count: 10 },
    ]);
    expect(plan.moved).toBe(30);
  });

  it('keeps leftover exemplars where they are (no pointless move)', () => {
    // 10 over 3 equal workers: 4/3/3. Worker 2 already has 4: nothing moves.
    expect(planRedistribution([3, 3, 4], full(1, 1, 1)).moved).toBe(0);
  });

  it('throws NoHostAvailable when everything is vacated', () => {
    const workers = full(1, 1).map((w) => ({ ...w, available: false }));
    expect(() => planRedistribution([5, 5], workers)).toThrow(NoHostAvailable);
  });
});

describe('shouldRedistribute', () => {
  const workers = full(1, 1, 1, 1);

  it('stays put for small gains and moves for large ones', () => {
    // 26 vs 25: gain 1/26 ≈ 3.8 % < 5 %.
    const small = shouldRedistribute([26, 25, 25, 24], [25, 25, 25, 25], workers);
    expect(small.redistribute).toBe(false);
    expect(small.reason).toBe('small-gain');
    expect(small.gain).toBeCloseTo(1 / 26, 12);
    const large = shouldRedistribute([40, 20, 20, 20], [25, 25, 25, 25], workers);
    expect(large).toMatchObject({
      redistribute: true,
      reason: 'gain',
      currentPassTime: 40,
      targetPassTime: 25,
    });
    // The threshold is configurable.
    expect(
      shouldRedistribute([26, 25, 25, 24], [25, 25, 25, 25], workers, { minGain: 0.01 }).redistribute,
    ).toBe(true);
  });

  it('always moves data off a vacated worker, however small the gain', () => {
    const vacated = workers.map((w, i) => ({ ...w, available: i !== 0 }));
    const d = shouldRedistribute([1, 1000, 1000, 999], [0, 1000, 1000, 1000], vacated);
    expect(d).toMatchObject({ redistribute: true, reason: 'evacuate' });
  });

  it('does nothing without data', () => {
    expect(shouldRedistribute([0, 0, 0, 0], [0, 0, 0, 0], workers)).toMatchObject({
      redistribute: false,
      gain: 0,
    });
  });

  it('uses speed × load for pass time', () => {
    const w: WorkerCapacity[] = [
      { speed: 10, load: 0.5, available: true },
      { speed: 5, load: 1, available: true },
    ];
    expect(estimatePassTime([10, 20], w)).toBe(4);
  });

  it('rejects a bad threshold', () => {
    expect(() => shouldRedistribute([1], [1], full(1), { minGain: 1 })).toThrow(PartitionInputError);
    expect(() => shouldRedistribute([1], [1], full(1), { minGain: -0.1 })).toThrow(PartitionInputError);
  });
});
