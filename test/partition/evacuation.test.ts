import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { evacuationTargets } from '../../framework/partition/evacuation.ts';
import { NoHostAvailable, planTransfers, type WorkerCapacity } from '../../framework/partition/index.ts';

const w = (speed: number, available = true, maxCount?: number): WorkerCapacity => ({
  speed,
  load: 1,
  available,
  maxCount,
});
const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

describe('evacuationTargets', () => {
  it('sends the vacated data to the receivers in proportion to speed when they are balanced', () => {
    expect(evacuationTargets([w(1, false), w(1), w(2)], [300, 100, 200])).toEqual([0, 200, 400]);
  });

  it('never takes data from a receiver above the level, even if its measured speed says it should give', () => {
    // h1 measured slow while it holds much: partitionBySpeed would move 450 of its rows to h2.
    const workers = [w(1, false), w(0.1), w(1)];
    const held = [100, 500, 0];
    expect(evacuationTargets(workers, held)).toEqual([0, 500, 100]);
    expect(planTransfers(held, evacuationTargets(workers, held))).toEqual([{ from: 0, to: 2, count: 100 }]);
  });

  it('keeps the caps: what does not fit the fastest goes to the others', () => {
    expect(evacuationTargets([w(1, false), w(10, true, 150), w(1)], [200, 100, 100])).toEqual([0, 150, 250]);
  });

  it('throws NoHostAvailable when every host is vacated', () => {
    expect(() => evacuationTargets([w(1, false), w(1, false)], [5, 5])).toThrow(NoHostAvailable);
  });

  it('property: totals kept, vacated hosts emptied, nobody available gives anything, the rest balanced', () => {
    const arb = fc
      .array(
        fc.record({
          speed: fc.oneof(fc.double({ min: 0.01, max: 100, noNaN: true }), fc.constantFrom(1, 2, 4)),
          available: fc.boolean(),
          held: fc.nat({ max: 3000 }),
        }),
        { minLength: 1, maxLength: 32 },
      )
      .chain((rows) =>
        fc
          .nat({ max: rows.length - 1 })
          .map((k) => rows.map((r, i) => (i === k ? { ...r, available: true } : r))),
      );
    fc.assert(
      fc.property(arb, (rows) => {
        const workers = rows.map((r) => w(r.speed, r.available));
        const held = rows.map((r) => r.held);
        const t = evacuationTargets(workers, held);
        expect(sum(t)).toBe(sum(held));
        rows.forEach((r, i) => {
          if (!r.available) expect(t[i]).toBe(0);
          else expect(t[i]).toBeGreaterThanOrEqual(held[i]);
        });
        for (const m of planTransfers(held, t)) expect(rows[m.from].available).toBe(false);
        // Water-filling: a receiver that gained is not above any available worker's level by
        // more than one exemplar's worth (rounding).
        const level = (i: number) => t[i] / rows[i].speed;
        rows.forEach((r, i) => {
          if (!r.available || t[i] <= held[i]) return;
          rows.forEach((q, j) => {
            if (q.available)
              expect(level(i) - 1 / r.speed).toBeLessThanOrEqual(level(j) + 1 / q.speed + 1e-9);
          });
        });
      }),
      { numRuns: 500 },
    );
  });
});
