import { transfersBySender } from '../partition/transfer-plan.ts';
import type { Transfer } from '../partition/types.ts';
import { isWorkerFault } from './faults.ts';
import type { HandOffResult, WorkerLink } from './worker-link.ts';

export interface HandOffOutcome {
  readonly bytes: number;
  /** Exemplars each worker holds afterwards as it reported it (-1: not involved). */
  readonly held: readonly number[];
  /**
   * When (on `clock`) the last sender had handed off all it had to give, and when the last
   * receiver had taken its rows in: the workers' own timing, placed on `clock`. The
   * coordinator hears of both later.
   */
  readonly handedAt: number;
  readonly takenAt: number;
  /** Rows not yet counted in this pass that a receiver took in after its share of it was done. */
  readonly uncounted: number;
  /** Why some part did not complete, or null. */
  readonly failure: unknown;
}

/** Whether every worker in `transfers` can hand rows over while computing, to its receivers. */
export function canHandOff(links: readonly WorkerLink[], transfers: readonly Transfer[]): boolean {
  return transfers.every((t) => {
    const from = links[t.from];
    const to = links[t.to];
    return from.handOff !== undefined && from.canHandOffTo?.(to) === true && from.alive && to.alive;
  });
}

/**
 * Carry out a transfer plan while the workers compute (`WorkerLink.handOff`): each sender
 * gives all its parts in one order. Resolves null, having asked nothing of anyone, when the
 * workers cannot hand rows over that way. Never rejects: every hand-off is settled before it
 * resolves, so no row is still on its way afterwards, and a failure comes in the outcome
 * with the counts every worker reported before it (-1 where it said nothing).
 */
export async function handOffAll(
  links: readonly WorkerLink[],
  transfers: readonly Transfer[],
  clock: () => number,
): Promise<HandOffOutcome | null> {
  const bySender = transfersBySender(transfers);
  const started: { list: Transfer[]; done: Promise<HandOffResult> }[] = [];
  const failures: unknown[] = [];
  for (const [from, list] of bySender) {
    const done = links[from].handOff?.(list.map((t) => ({ count: t.count, to: links[t.to] })));
    if (done) started.push({ list, done });
    // The plan asked `canHandOffTo` of every pair: only a receiver gone since can make an order
    // find no way, and then only the first (nothing started yet) is answered by stopping.
    else if (started.length === 0) return null;
    else failures.push(new Error(`worker ${from} cannot hand rows to its receivers, unlike the others`));
  }
  const results = await Promise.all(started.map((s) => s.done));
  const now = clock();
  const held = links.map(() => -1);
  let bytes = 0;
  let uncounted = 0;
  let handedAt = Number.NEGATIVE_INFINITY;
  let takenAt = Number.NEGATIVE_INFINITY;
  results.forEach((result, k) => {
    const { list } = started[k];
    held[list[0].from] = result.held;
    list.forEach((t, p) => {
      held[t.to] = Math.max(held[t.to], result.receivers[p]);
    });
    bytes += result.bytes;
    uncounted += result.uncounted;
    handedAt = Math.max(handedAt, now - result.handedAgoMs);
    takenAt = Math.max(takenAt, now - result.takenAgoMs);
    if (result.failure !== null) failures.push(result.failure);
  });
  // A worker's fault first: the job recovers from it (an Error alone is a coordinator bug).
  const failure = failures.find(isWorkerFault) ?? failures[0] ?? null;
  return { bytes, held, handedAt, takenAt, uncounted, failure };
}
