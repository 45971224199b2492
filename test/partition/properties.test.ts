import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  NotEnoughRoom,
  partitionBySpeed,
  planRedistribution,
  planTransfers,
  shouldRedistribute,
  type Transfer,
  type WorkerCapacity,
} from '../../framework/partition/index.ts';

/** Speeds: mostly arbitrary doubles, sometimes small integers so that exact ties happen. */
const speedArb = fc.oneof(
  fc.double({ min: 1e-3, max: 1e3, noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(1, 2, 3, 0.5),
);
const loadArb = fc.oneof(fc.double({ min: 0.01, max: 1, noNaN: true }), fc.constant(1));

interface Scenario {
  readonly workers: WorkerCapacity[];
  readonly current: number[];
}

/** 1–32 workers, at least one available, each holding 0–2000 exemplars (vacated ones too). */
const scenarioArb: fc.Arbitrary<Scenario> = fc
  .array(
    fc.record({ speed: speedArb, load: loadArb, available: fc.boolean(), held: fc.nat({ max: 2000 }) }),
    { minLength: 1, maxLength: 32 },
  )
  .chain((rows) =>
    fc.nat({ max: rows.length - 1 }).map((forced) => ({
      workers: rows.map((r, i) => ({ speed: r.speed, load: r.load, available: r.available || i === forced })),
      current: rows.map((r) => r.held),
    })),
  );

const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

function apply(current: readonly number[], transfers: readonly Transfer[]): number[] {
  const out = [...current];
  for (const t of transfers) {
    out[t.from] -= t.count;
    out[t.to] += t.count;
  }
  return out;
}

describe('partition properties (fast-check)', () => {
  it('shares sum to the total and are within one exemplar of the exact quota', () => {
    fc.assert(
      fc.property(
        scenarioArb,
        fc.nat({ max: 1_000_000 }),
        fc.boolean(),
        ({ workers, current }, total, useHoldings) => {
          const shares = partitionBySpeed(total, workers, useHoldings ? current : undefined);
          expect(sum(shares)).toBe(total);
          const w = workers.map((x) => (x.available ? x.speed * x.load : 0));
          const sw = sum(w);
          shares.forEach((s, i) => {
            expect(Number.isInteger(s) && s >= 0).toBe(true);
            expect(Math.abs(s - (total * w[i]) / sw)).toBeLessThan(1);
            if (!workers[i].available) expect(s).toBe(0);
          });
        },
      ),
      { numRuns: 400 },
    );
  });

  it('with memory caps: no share above its cap, shares sum to the total, and an uncapped worker is never below its uncapped quota', () => {
    const capArb = fc.option(fc.nat({ max: 3000 }), { nil: undefined });
    fc.assert(
      fc.property(
        scenarioArb.chain((s) =>
          fc.tuple(
            fc.constant(s),
            fc.array(capArb, { minLength: s.workers.length, maxLength: s.workers.length }),
          ),
        ),
        fc.nat({ max: 20_000 }),
        ([{ workers, current }, caps], total) => {
          const capped = workers.map((w, i) => (caps[i] === undefined ? w : { ...w, maxCount: caps[i] }));
          const room = sum(capped.map((w) => (w.available ? (w.maxCount ?? Number.POSITIVE_INFINITY) : 0)));
          if (room < total) {
            expect(() => partitionBySpeed(total, capped, current)).toThrow(NotEnoughRoom);
            return;
          }
          const shares = partitionBySpeed(total, capped, current);
          const free = partitionBySpeed(total, workers, current);
          expect(sum(shares)).toBe(total);
          shares.forEach((s, i) => {
            expect(Number.isInteger(s) && s >= 0).toBe(true);
            if (!capped[i].available) expect(s).toBe(0);
            const cap = capped[i].maxCount;
            if (cap !== undefined) expect(s).toBeLessThanOrEqual(cap);
            // What the capped hosts cannot take goes to the others: nobody uncapped gets less.
            else expect(s).toBeGreaterThanOrEqual(free[i] - 1);
          });
        },
      ),
      { numRuns: 400 },
    );
  });

  it('the plan reaches the targets exactly, minimally, without sending to unavailable workers', () => {
    fc.assert(
      fc.property(scenarioArb, ({ workers, current }) => {
        const plan = planRedistribution(current, workers);
        expect(apply(current, plan.transfers)).toEqual(plan.targets);
        const minimum = sum(current.map((c, i) => Math.max(0, c - plan.targets[i])));
        expect(plan.moved).toBe(minimum);
        expect(sum(plan.transfers.map((t) => t.count))).toBe(plan.moved);
        const senders = new Set<number>();
        const receivers = new Set<number>();
        for (const t of plan.transfers) {
          expect(Number.isInteger(t.count) && t.count > 0).toBe(true);
          expect(t.from).not.toBe(t.to);
          expect(workers[t.to].available).toBe(true);
          senders.add(t.from);
          receivers.add(t.to);
        }
        for (const s of senders) expect(receivers.has(s)).toBe(false);
        // Vacated workers end empty.
        workers.forEach((w, i) => {
          if (!w.available) expect(plan.targets[i]).toBe(0);
        });
        // Transfer count bound: E·R + (S − E) + R − 1.
        const evac = [...senders].filter((s) => plan.targets[s] === 0).length;
        if (plan.transfers.length > 0) {
          expect(plan.transfers.length).toBeLessThanOrEqual(
            evac * receivers.size + senders.size - evac + receivers.size - 1,
          );
        }
        // A vacated worker with data always forces a move.
        if (workers.some((w, i) => !w.available && current[i] > 0)) {
          expect(shouldRedistribute(current, plan.targets, workers).redistribute).toBe(true);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('an evacuating worker splits its data over all receivers in proportion to their needs', () => {
    fc.assert(
      fc.property(
        fc.array(fc.nat({ max: 500 }), { minLength: 1, maxLength: 30 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (need, fraction) => {
          // Worker 0 is vacated and holds `evac`; worker 1 (a normal sender) covers the rest of
          // the receivers' needs; workers 2.. each hold 10 and need `need[k]` more.
          const totalNeed = sum(need);
          const evac = Math.round(totalNeed * fraction);
          const current = [evac, 1000 + totalNeed - evac, ...need.map(() => 10)];
          const targets = [0, 1000, ...need.map((x) => 10 + x)];
          const transfers = planTransfers(current, targets);
          expect(apply(current, transfers)).toEqual(targets);
          const fromEvac = transfers.filter((t) => t.from === 0);
          // Evacuation transfers come first.
          expect(transfers.slice(0, fromEvac.length)).toEqual(fromEvac);
          need.forEach((x, k) => {
            const got = fromEvac.find((t) => t.to === k + 2)?.count ?? 0;
            const quota = totalNeed === 0 ? 0 : (evac * x) / totalNeed;
            expect(got === Math.floor(quota) || got === Math.ceil(quota)).toBe(true);
          });
          // Several receivers at once whenever the proportional split allows it.
          const quotasAtLeastOne = need.filter((x) => x > 0 && (evac * x) / totalNeed >= 1).length;
          expect(fromEvac.length).toBeGreaterThanOrEqual(quotasAtLeastOne);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('planTransfers works for arbitrary current/target pairs with equal sums', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat({ max: 1000 }), fc.nat({ max: 1000 })), { minLength: 1, maxLength: 32 }),
        (pairs) => {
          const current = pairs.map((p) => p[0]);
          const raw = pairs.map((p) => p[1]);
          // Rescale the second list to the same total with partitionBySpeed-like exactness.
          const total = sum(current);
          const weights = raw.map((r) => ({ speed: r + 1, load: 1, available: true }));
          const targets = partitionBySpeed(total, weights);
          const transfers = planTransfers(current, targets);
          expect(apply(current, transfers)).toEqual(targets);
          expect(sum(transfers.map((t) => t.count))).toBe(
            sum(current.map((c, i) => Math.max(0, c - targets[i]))),
          );
          const evacuating = targets.filter((t, i) => t === 0 && current[i] > 0).length;
          const sendersCount = current.filter((c, i) => c > targets[i]).length;
          const receiversCount = current.filter((c, i) => c < targets[i]).length;
          if (evacuating === 0 && transfers.length > 0) {
            expect(transfers.length).toBeLessThanOrEqual(sendersCount + receiversCount - 1);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('partitioning is deterministic and a recomputed plan from the targets moves nothing', () => {
    fc.assert(
      fc.property(scenarioArb, ({ workers, current }) => {
        const a = planRedistribution(current, workers);
        expect(planRedistribution(current, workers)).toEqual(a);
        const again = planRedistribution([...a.targets], workers);
        expect(again.moved).toBe(0);
        expect(shouldRedistribute(a.targets, a.targets, workers).redistribute).toBe(false);
      }),
      { numRuns: 200 },
    );
  });
});
