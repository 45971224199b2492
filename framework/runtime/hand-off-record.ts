import type { HandOffResult } from './worker-link.ts';

/**
 * What a transport knows of one hand-off while it is in flight (`WorkerLink.handOff`): the
 * sender's report and each receiver's. Times are on the transport's own clock (`now`).
 */
export class HandOffRecord {
  /** The sender's report: what it holds afterwards, bytes posted, when. */
  handed: { held: number; bytes: number; at: number } | null = null;
  /** The first failure: of the sender before it handed anything, or of a receiver. */
  failure: unknown = null;
  /** The sender failed (or refused) before it handed anything over: no receiver has anything coming. */
  private senderGone = false;
  /** Per part: the receiver's count once it took its rows in (-1 until then). */
  readonly taken: number[];
  private readonly done: boolean[];
  private lastTakenAt = Number.NEGATIVE_INFINITY;
  private uncounted = 0;

  constructor(counts: readonly number[]) {
    this.taken = counts.map(() => -1);
    // A part of no rows has nothing to take in (its receiver may still report; it is not waited for).
    this.done = counts.map((n) => n === 0);
  }

  /** Part `k`'s receiver took its rows in; `inPass` false: outside a pass, `unprocessed` still to count. */
  tookIn(k: number, held: number, at: number, inPass: boolean, unprocessed: number): void {
    this.taken[k] = held;
    this.done[k] = true;
    this.lastTakenAt = Math.max(this.lastTakenAt, at);
    if (!inPass) this.uncounted += unprocessed;
  }

  /** The sender failed or refused before handing anything over. */
  senderFailed(failure: unknown): void {
    if (this.handed !== null) return;
    this.failure ??= failure;
    this.senderGone = true;
  }

  /** Part `k`'s receiver failed before taking its rows in: they are lost with it. */
  receiverFailed(k: number, failure: unknown): void {
    if (this.done[k]) return;
    this.failure ??= failure;
    this.done[k] = true;
  }

  /**
   * Every worker has said its last word: the sender handed over (or failed first), and each
   * receiver took its rows in (or failed first). Only then do the counts reported add up.
   */
  get complete(): boolean {
    return this.senderGone || (this.handed !== null && this.done.every(Boolean));
  }

  /** Part `k` still waits for its receiver. */
  waitsFor(k: number): boolean {
    return !this.done[k];
  }

  /** The result as it stands at `now`, with the failure if any and whatever was reported. */
  result(now: number): HandOffResult {
    const handedAt = this.handed?.at ?? now;
    return {
      held: this.handed?.held ?? -1,
      receivers: [...this.taken],
      bytes: this.handed?.bytes ?? 0,
      uncounted: this.uncounted,
      handedAgoMs: now - handedAt,
      takenAgoMs: now - Math.max(this.lastTakenAt, handedAt),
      failure: this.failure,
    };
  }
}
