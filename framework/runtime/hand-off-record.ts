import type { HandOffResult } from './worker-link.ts';

/**
 * What a transport knows of one hand-off while it is in flight (`WorkerLink.handOff`): the
 * sender's report and each receiver's. Times are on the transport's own clock (`now`).
 */
export class HandOffRecord {
  /** The sender's report: what it holds afterwards, bytes posted, when. */
  handed: { held: number; bytes: number; at: number } | null = null;
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

  get complete(): boolean {
    return this.handed !== null && this.done.every(Boolean);
  }

  /** Part `k` still waits for its receiver. */
  waitsFor(k: number): boolean {
    return !this.done[k];
  }

  /** The result as it stands at `now`: complete, or with `failure` and whatever was reported. */
  result(now: number, failure: unknown = null): HandOffResult {
    const handedAt = this.handed?.at ?? now;
    return {
      held: this.handed?.held ?? -1,
      receivers: [...this.taken],
      bytes: this.handed?.bytes ?? 0,
      uncounted: this.uncounted,
      handedAgoMs: now - handedAt,
      takenAgoMs: now - Math.max(this.lastTakenAt, handedAt),
      failure,
    };
  }
}
