import { checkCounts, NoHostAvailable } from './errors.ts';
import { checkWorkers, partitionBySpeed } from './target-shares.ts';
import type { WorkerCapacity } from './types.ts';

/**
 * Targets for an evacuation: the exemplars of unavailable workers go to the available ones,
 * and no available worker gives any up (beyond its `maxCount`, if it holds more). Among such targets, the one that balances best by
 * `speed × load` (water-filling): a receiver is filled up to a common level of work per unit
 * of speed, and one already above that level keeps what it has and takes nothing.
 *
 * Why not `partitionBySpeed` alone: its targets also move data between the workers that stay,
 * whenever their measured speeds drifted from their holdings (at 32 workers on a busy machine,
 * an evacuation of 31 transfers became 49–56). An owner's vacate should cost only the move of
 * the vacated data; a rebalance by speed has its own rule (a gain several passes in a row).
 *
 * `maxCount` caps are kept. Throws `NoHostAvailable` if no worker is available (`NotEnoughRoom`
 * if their caps cannot hold it all), and `PartitionInputError` for invalid input.
 */
export function evacuationTargets(workers: readonly WorkerCapacity[], held: readonly number[]): number[] {
  checkWorkers(workers);
  checkCounts('held', held, workers.length);
  // What each available worker may keep: all it holds, up to its cap.
  const keep = workers.map((w, i) => (w.available ? Math.min(held[i], w.maxCount ?? held[i]) : 0));
  const total = held.reduce((a, b) => a + b, 0);
  if (!workers.some((w) => w.available)) throw new NoHostAvailable(workers.length);
  // Workers found above the level keep what they hold and drop out; the rest is split again,
  // until every remaining share is at least its holding (at most one round per worker).
  const fixed = workers.map(() => false);
  for (;;) {
    let rest = total;
    workers.forEach((_, i) => {
      if (fixed[i]) rest -= keep[i];
    });
    const open = workers.map((w, i) => (fixed[i] ? { ...w, available: false } : w));
    const shares = open.some((w) => w.available) ? partitionBySpeed(rest, open, held) : workers.map(() => 0);
    let dropped = false;
    workers.forEach((w, i) => {
      if (w.available && !fixed[i] && shares[i] < keep[i]) {
        fixed[i] = true;
        dropped = true;
      }
    });
    if (!dropped) return shares.map((s, i) => (fixed[i] ? keep[i] : s));
  }
}
