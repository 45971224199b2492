import type { Transfer } from '../partition/types.ts';
import { monotonicMs } from '../util/monotonic.ts';
import { firstError } from './faults.ts';
import type { HandOffResult, WorkerLink } from './worker-link.ts';

export interface HandOffOutcome {
  readonly bytes: number;
  /** Exemplars each worker holds afterwards as it reported it (-1: not involved). */
  readonly held: readonly number[];
  /**
   * When (on `clock`) the last sender had handed off all it had to give, and when the last
   * receiver had taken its rows in: the workers' own timestamps, placed on `clock` (which must
   * run in real time, as the default clock does). The coordinator hears of both later.
   */
  readonly handedAt: number;
  readonly takenAt: number;
  /** Rows not yet counted in this pass that a receiver took in after its share of it was done. */
  readonly uncounted: number;
}

/** Whether every worker in `transfers` can hand rows over while computing. */
export function canHandOff(links: readonly WorkerLink[], transfers: readonly Transfer[]): boolean {
  return transfers.every(
    (t) => links[t.from].handOff !== undefined && links[t.from].alive && links[t.to].alive,
  );
}

/**
 * Carry out a transfer plan while the workers compute (`WorkerLink.handOff`): each sender
 * gives all its parts in one order. Resolves null, having asked nothing of anyone, when some
 * sender cannot reach its receivers that way. Settles every hand-off before it resolves or
 * rejects (with the first error), so no row is still on its way afterwards.
 */
export async function handOffAll(
  links: readonly WorkerLink[],
  transfers: readonly Transfer[],
  clock: () => number,
): Promise<HandOffOutcome | null> {
  const bySender = new Map<number, Transfer[]>();
  for (const t of transfers) bySender.set(t.from, [...(bySender.get(t.from) ?? []), t]);
  const started: { list: Transfer[]; done: Promise<HandOffResult> }[] = [];
  for (const [from, list] of bySender) {
    const done = links[from].handOff?.(list.map((t) => ({ count: t.count, to: links[t.to] })));
    // Only the first order can find no way (all links are of one transport): nothing started then.
    if (!done) {
      if (started.length === 0) return null;
      throw new Error(`worker ${from} cannot hand rows to its receivers, unlike the others`);
    }
    started.push({ list, done });
  }
  const settled = await Promise.allSettled(started.map((s) => s.done));
  if (settled.some((r) => r.status === 'rejected')) throw firstError(settled);
  // The workers' timestamps on the job's clock: both clocks read now, side by side.
  const offset = clock() - monotonicMs();
  const held = links.map(() => -1);
  let bytes = 0;
  let uncounted = 0;
  let handedAt = Number.NEGATIVE_INFINITY;
  let takenAt = Number.NEGATIVE_INFINITY;
  settled.forEach((r, k) => {
    const result = (r as PromiseFulfilledResult<HandOffResult>).value;
    const { list } = started[k];
    held[list[0].from] = result.held;
    list.forEach((t, p) => {
      held[t.to] = Math.max(held[t.to], result.receivers[p]);
    });
    bytes += result.bytes;
    uncounted += result.uncounted;
    handedAt = Math.max(handedAt, result.handedAtMs + offset);
    takenAt = Math.max(takenAt, result.takenAtMs + offset);
  });
  return { bytes, held, handedAt, takenAt, uncounted };
}
