import { checkCounts, PartitionInputError, sum } from './errors.ts';
import { checkWorkers, partitionBySpeed } from './target-shares.ts';
import type { Transfer, TransferPlan, WorkerCapacity } from './types.ts';

/**
 * Exact `⌊a·b / c⌋` and `a·b mod c` for non-negative integers (`c > 0`), also when `a·b` is
 * beyond 2^53 (then through BigInt).
 */
function mulDivMod(a: number, b: number, c: number): [number, number] {
  const product = a * b;
  if (Number.isSafeInteger(product)) {
    let q = Math.floor(product / c);
    if (q * c > product) q--;
    else if ((q + 1) * c <= product) q++;
    return [q, product - q * c];
  }
  const big = BigInt(a) * BigInt(b);
  const bc = BigInt(c);
  return [Number(big / bc), Number(big % bc)];
}

/**
 * Splits `amount` into integer parts proportional to `caps` (largest remainder, exact integer
 * arithmetic, ties to the lower position). Requires `amount ≤ Σcaps`; then every part is ≤ its cap.
 */
function splitProportional(amount: number, caps: readonly number[]): number[] {
  const total = sum(caps);
  const parts = new Array<number>(caps.length).fill(0);
  const remainders = new Array<number>(caps.length).fill(0);
  let assigned = 0;
  for (let k = 0; k < caps.length; k++) {
    const [q, r] = mulDivMod(amount, caps[k], total);
    parts[k] = q;
    remainders[k] = r;
    assigned += q;
  }
  const order = caps.map((_, k) => k).sort((a, b) => remainders[b] - remainders[a] || a - b);
  for (let k = 0; assigned < amount; k++, assigned++) parts[order[k]]++;
  return parts;
}

/**
 * The moves that turn `current` holdings into `targets` (same total), moving the fewest
 * exemplars possible: each worker only sends (its surplus `current − target`) or only receives
 * (its deficit), never both, so `moved = Σ max(0, current − target)`, which is also a lower
 * bound for any plan. Every transfer has `count > 0` and `from ≠ to`.
 *
 * Matching senders to receivers:
 *  - An *evacuating* sender — one whose target is 0, i.e. a vacated host — splits its data over
 *    ALL receivers at once, in proportion to what each still needs (largest remainder, exact
 *    integers), so the fragments travel in parallel and the host is emptied as fast as the
 *    receivers can take it (as in the ADM paper). Several evacuating senders are handled in index
 *    order, each splitting over the receivers' remaining needs.
 *  - The other senders fill the remaining needs greedily (north-west corner: senders and
 *    receivers both in index order), which needs at most `senders + receivers − 1` transfers.
 *  In total at most `E·R + (S − E) + R − 1` transfers for E evacuating senders, S senders and R
 *  receivers — `S + R − 1` when nobody is evacuating.
 *
 * Order of the result (deterministic): evacuating transfers first, then the rest; within each
 * group by sender index, then receiver index. A runtime that starts transfers in list order or
 * caps concurrency therefore empties vacated hosts first.
 *
 * Since a receiver has `target > current ≥ 0`, no transfer ever goes to a worker with target 0;
 * with targets from `partitionBySpeed` that includes every unavailable worker.
 */
export function planTransfers(current: readonly number[], targets: readonly number[]): Transfer[] {
  checkCounts('current', current);
  checkCounts('targets', targets, current.length);
  const total = sum(current);
  if (!Number.isSafeInteger(total))
    throw new PartitionInputError(`total exemplar count ${total} is too large`);
  if (sum(targets) !== total) {
    throw new PartitionInputError(`targets sum to ${sum(targets)} but current holdings sum to ${total}`);
  }

  const evacuating: number[] = [];
  const senders: number[] = [];
  const receivers: number[] = [];
  for (let i = 0; i < current.length; i++) {
    if (current[i] > targets[i]) (targets[i] === 0 ? evacuating : senders).push(i);
    else if (current[i] < targets[i]) receivers.push(i);
  }
  const need = receivers.map((j) => targets[j] - current[j]);
  const transfers: Transfer[] = [];

  for (const from of evacuating) {
    const parts = splitProportional(current[from], need);
    for (let k = 0; k < receivers.length; k++) {
      if (parts[k] === 0) continue;
      transfers.push({ from, to: receivers[k], count: parts[k] });
      need[k] -= parts[k];
    }
  }

  let k = 0;
  for (const from of senders) {
    let surplus = current[from] - targets[from];
    while (surplus > 0) {
      while (need[k] === 0) k++;
      const count = Math.min(surplus, need[k]);
      transfers.push({ from, to: receivers[k], count });
      need[k] -= count;
      surplus -= count;
    }
  }
  return transfers;
}

/** The transfers of a plan grouped by sender, in plan order: each sender then cuts all its parts in one go. */
export function transfersBySender(transfers: readonly Transfer[]): Map<number, Transfer[]> {
  const bySender = new Map<number, Transfer[]>();
  for (const t of transfers) {
    const list = bySender.get(t.from);
    if (list) list.push(t);
    else bySender.set(t.from, [t]);
  }
  return bySender;
}

/**
 * Recomputes the partition from scratch for the data currently held (`Σ current`) with
 * `partitionBySpeed` (ties favour current holders) and plans the moves to reach it.
 * Throws `NoHostAvailable` if no worker is available.
 */
export function planRedistribution(
  current: readonly number[],
  workers: readonly WorkerCapacity[],
): TransferPlan {
  checkCounts('current', current, workers.length);
  const total = sum(current);
  if (!Number.isSafeInteger(total))
    throw new PartitionInputError(`total exemplar count ${total} is too large`);
  const targets = partitionBySpeed(total, workers, current);
  const transfers = planTransfers(current, targets);
  let moved = 0;
  for (const t of transfers) moved += t.count;
  return { targets, transfers, moved };
}

export interface RedistributeOptions {
  /**
   * Move only if the estimated pass time improves by MORE than this fraction of the current
   * estimate. In [0, 1). Default 0.05 (5 %).
   */
  readonly minGain?: number;
}

export const DEFAULT_MIN_GAIN = 0.05;

export type RedistributeReason =
  /** An unavailable worker still holds data: it must be emptied whatever the gain. */
  | 'evacuate'
  /** The estimated pass time improves by more than `minGain`. */
  | 'gain'
  /** The improvement is at most `minGain` (or there is no data): stay put. */
  | 'small-gain';

export interface RedistributeDecision {
  readonly redistribute: boolean;
  readonly reason: RedistributeReason;
  /** Estimated pass time with the current holdings: max over workers of count / (speed × load). */
  readonly currentPassTime: number;
  /** Same with the target holdings. */
  readonly targetPassTime: number;
  /** (current − target) / current pass time; 0 when there is no data, 1 when evacuating. */
  readonly gain: number;
}

/**
 * Estimated time of one pass: the slowest worker's `count / (speed × load)`. Units are those of
 * 1/speed (seconds when speeds are exemplars per second). A worker holding no data costs 0; an
 * unavailable worker holding data makes the estimate `Infinity`.
 */
export function estimatePassTime(counts: readonly number[], workers: readonly WorkerCapacity[]): number {
  checkCounts('counts', counts, workers.length);
  checkWorkers(workers);
  let time = 0;
  for (let i = 0; i < counts.length; i++) {
    if (counts[i] === 0) continue;
    const w = workers[i];
    time = Math.max(time, w.available ? counts[i] / (w.speed * w.load) : Number.POSITIVE_INFINITY);
  }
  return time;
}

/**
 * The minimum-gain rule, so that small imbalances (noisy speed estimates, a 3 % load change)
 * don't make the data thrash back and forth: redistribute only if the estimated pass time
 * (`estimatePassTime`) with `targets` beats the one with `current` by more than `minGain`
 * (default 5 %) of the current time. Moving costs a transfer plus a pause of the pass, which a
 * few-percent gain does not repay over a handful of passes.
 *
 * Exception: if an unavailable (vacated) worker still holds data, the answer is always yes —
 * the owner has reclaimed the host, the data must leave whatever the gain.
 */
export function shouldRedistribute(
  current: readonly number[],
  targets: readonly number[],
  workers: readonly WorkerCapacity[],
  options: RedistributeOptions = {},
): RedistributeDecision {
  const minGain = options.minGain ?? DEFAULT_MIN_GAIN;
  if (!Number.isFinite(minGain) || minGain < 0 || minGain >= 1) {
    throw new PartitionInputError(`minGain must be a fraction in [0, 1), got ${minGain}`);
  }
  checkCounts('targets', targets, workers.length);
  const currentPassTime = estimatePassTime(current, workers);
  const targetPassTime = estimatePassTime(targets, workers);
  if (currentPassTime === Number.POSITIVE_INFINITY) {
    return { redistribute: true, reason: 'evacuate', currentPassTime, targetPassTime, gain: 1 };
  }
  const gain = currentPassTime === 0 ? 0 : (currentPassTime - targetPassTime) / currentPassTime;
  const redistribute = gain > minGain;
  return {
    redistribute,
    reason: redistribute ? 'gain' : 'small-gain',
    currentPassTime,
    targetPassTime,
    gain,
  };
}
