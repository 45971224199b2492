import {
  checkCount,
  checkCounts,
  checkLoad,
  checkSpeed,
  NoHostAvailable,
  NotEnoughRoom,
  PartitionInputError,
} from './errors.ts';
import type { WorkerCapacity } from './types.ts';

/**
 * Fractional parts closer than this are treated as equal, so that float noise
 * (e.g. 0.30000000000000004 vs 0.3) never decides who gets the extra exemplar:
 * the deterministic tie rule does. Fractions are quantised to this grid before comparing.
 */
const REMAINDER_GRID = 1e9;

/** Checks every worker's speed, load and availability; throws `PartitionInputError` on the first bad one. */
export function checkWorkers(workers: readonly WorkerCapacity[]): void {
  for (let i = 0; i < workers.length; i++) {
    const w = workers[i];
    checkSpeed(`workers[${i}].speed`, w.speed);
    checkLoad(`workers[${i}].load`, w.load);
    if (typeof w.available !== 'boolean') {
      throw new PartitionInputError(`workers[${i}].available must be a boolean, got ${String(w.available)}`);
    }
    if (w.maxCount !== undefined && !(Number.isSafeInteger(w.maxCount) && w.maxCount >= 0)) {
      throw new PartitionInputError(
        `workers[${i}].maxCount must be an integer ≥ 0, got ${String(w.maxCount)}`,
      );
    }
    if (w.available && !(w.speed * w.load > 0)) {
      throw new PartitionInputError(
        `workers[${i}]: speed × load underflows to 0 (${w.speed} × ${w.load}); use larger speed units`,
      );
    }
  }
}

/**
 * What each worker can do right now: `speed × load` if available, else 0,
 * divided by the largest such value (so the sum can never overflow).
 * Throws `NoHostAvailable` if no worker is available.
 */
export function effectiveWeights(workers: readonly WorkerCapacity[]): number[] {
  let max = 0;
  for (const w of workers) if (w.available) max = Math.max(max, w.speed * w.load);
  if (max === 0) throw new NoHostAvailable(workers.length);
  return workers.map((w) => (w.available ? (w.speed * w.load) / max : 0));
}

/**
 * Splits `total` exemplars over the workers in proportion to `speed × load` of the available
 * ones; unavailable workers get 0. Exact to one exemplar (largest-remainder / Hamilton method):
 * every share is the floor or the ceiling of its exact quota `total · wᵢ / Σw`, and the shares
 * sum to `total`.
 *
 * Who gets the leftover exemplars: the largest fractional parts of the quotas. Ties (equal
 * fractional parts, up to float noise) are broken deterministically:
 *   1. if `current` holdings are given, prefer a worker that holds more than the floor of its
 *      quota — giving it the extra exemplar saves one move, giving it to a worker at or below
 *      its floor saves none;
 *   2. then the lower worker index.
 * So with equal speeds and `total` not divisible by the worker count, the extra exemplars stay
 * where they already are instead of being shuffled to the lowest indices.
 *
 * Throws `NoHostAvailable` if no worker is available (also for `total = 0`: there is no
 * partition without a host), and `PartitionInputError` for invalid input.
 */
function proportionalShares(
  total: number,
  workers: readonly WorkerCapacity[],
  current?: readonly number[],
): number[] {
  checkCount('total', total);
  checkWorkers(workers);
  if (current !== undefined) checkCounts('current', current, workers.length);

  const weights = effectiveWeights(workers);
  let weightSum = 0;
  for (const w of weights) weightSum += w;

  const n = workers.length;
  const shares = new Array<number>(n).fill(0);
  const candidates: number[] = [];
  const remainderKey = new Array<number>(n).fill(0);
  let assigned = 0;
  for (let i = 0; i < n; i++) {
    if (weights[i] === 0) continue;
    const quota = total * (weights[i] / weightSum);
    const floor = Math.min(Math.floor(quota), total);
    shares[i] = floor;
    assigned += floor;
    remainderKey[i] = Math.round((quota - floor) * REMAINDER_GRID);
    candidates.push(i);
  }

  // Holding more than the floor: taking the extra exemplar saves a move (tie rule 1).
  const holdsExtra = (i: number): number => (current !== undefined && current[i] > shares[i] ? 1 : 0);
  candidates.sort((a, b) => remainderKey[b] - remainderKey[a] || holdsExtra(b) - holdsExtra(a) || a - b);

  // In exact arithmetic 0 ≤ leftover < candidates.length; the loops also absorb float error.
  let leftover = total - assigned;
  for (let k = 0; leftover > 0; k = (k + 1) % candidates.length, leftover--) shares[candidates[k]]++;
  for (let k = candidates.length - 1; leftover < 0; k = k === 0 ? candidates.length - 1 : k - 1) {
    if (shares[candidates[k]] > 0) {
      shares[candidates[k]]--;
      leftover++;
    }
  }
  return shares;
}

/**
 * Splits `total` exemplars over the workers in proportion to `speed × load` of the available
 * ones, as `proportionalShares` does, but never gives a worker more than its `maxCount`:
 * a worker whose share would exceed its cap gets exactly its cap, and the rest is split
 * over the others in proportion again (repeated until no share exceeds a cap — at most once
 * per capped worker). Throws `NotEnoughRoom` (a `NoHostAvailable`) when the available
 * workers' caps sum to less than `total`.
 */
export function partitionBySpeed(
  total: number,
  workers: readonly WorkerCapacity[],
  current?: readonly number[],
): number[] {
  if (!workers.some((w) => w.maxCount !== undefined)) return proportionalShares(total, workers, current);
  checkCount('total', total);
  checkWorkers(workers);
  if (!workers.some((w) => w.available)) throw new NoHostAvailable(workers.length);
  let room = 0;
  for (const w of workers) if (w.available) room += w.maxCount ?? Number.POSITIVE_INFINITY;
  if (room < total) throw new NotEnoughRoom(workers.length, total, room);
  const atCap = new Array<boolean>(workers.length).fill(false);
  for (;;) {
    let rest = total;
    workers.forEach((w, i) => {
      if (atCap[i]) rest -= w.maxCount as number;
    });
    const free = workers.map((w, i) => (atCap[i] ? { ...w, available: false } : w));
    const shares = free.some((w) => w.available)
      ? proportionalShares(rest, free, current)
      : new Array<number>(workers.length).fill(0);
    let over = false;
    workers.forEach((w, i) => {
      if (!atCap[i] && w.maxCount !== undefined && shares[i] > w.maxCount) {
        atCap[i] = true;
        over = true;
      }
    });
    if (!over) {
      workers.forEach((w, i) => {
        if (atCap[i]) shares[i] = w.maxCount as number;
      });
      return shares;
    }
  }
}
