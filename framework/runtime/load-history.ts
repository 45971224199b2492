/**
 * One host's emulated load over time, for reading a measured rate at the load the host ran
 * at (job-state.ts `emulatedLoadDuring`). Pure: times are the caller's clock, in ms.
 */

/** Changes kept: a slice spans a few at most, even in an event storm. */
const MAX_CHANGES = 64;

export class LoadHistory {
  /** From `at` on, `load`; the first entry holds from the start (or from before what was dropped). */
  private readonly changes: { at: number; load: number }[] = [{ at: Number.NEGATIVE_INFINITY, load: 1 }];

  /** From `at` on (no earlier than the last change), the host runs at `load`. */
  record(at: number, load: number): void {
    this.changes.push({ at, load });
    if (this.changes.length > MAX_CHANGES) this.changes.splice(0, this.changes.length - MAX_CHANGES);
  }

  /** The load now. */
  get current(): number {
    return this.changes[this.changes.length - 1].load;
  }

  /**
   * The mean load from `start` to `end`, weighted by time (the load now if the span is
   * empty). Before the oldest change kept, its load stands for the dropped ones.
   */
  mean(start: number, end: number): number {
    if (!(end > start)) return this.current;
    const c = this.changes;
    let weighted = 0;
    for (let k = 0; k < c.length; k++) {
      const from = k === 0 ? start : Math.max(start, c[k].at);
      const to = Math.min(end, c[k + 1]?.at ?? Number.POSITIVE_INFINITY);
      if (to > from) weighted += (to - from) * c[k].load;
    }
    return weighted / (end - start);
  }
}
