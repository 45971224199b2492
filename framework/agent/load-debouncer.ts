/**
 * When a load watcher tells the job: only when the fraction left for the job has moved by
 * at least `threshold` from what the job was last told, and stayed moved — every reading
 * on the same side, at least `threshold` away — for at least `holdMs`. Noise below the
 * threshold, and a burst shorter than the hold, move no data. Pure: readings and their
 * times come in, a decision comes out.
 */

export interface DebounceOptions {
  /** Least change of the fraction worth an event (the CLI's default: 0.15). */
  readonly threshold: number;
  /** How long a change must last before it is told, ms (the CLI's default: 2000). */
  readonly holdMs: number;
  /** What the job believes before any event: a job starts every host at load 1. */
  readonly initial?: number;
}

/** A change to tell the job. */
export interface LoadChange {
  /** The mean of the readings during the hold: the new fraction left for the job. */
  readonly fraction: number;
  /** Readings averaged. */
  readonly samples: number;
  /** From the first changed reading to the one that completed the hold, ms. */
  readonly heldMs: number;
}

export class LoadDebouncer {
  private told: number;
  private hold: { since: number; side: 1 | -1; sum: number; count: number } | null = null;

  constructor(private readonly options: DebounceOptions) {
    if (!(options.threshold > 0 && options.threshold <= 1)) {
      throw new RangeError(`threshold must be in (0, 1], got ${options.threshold}`);
    }
    if (!(options.holdMs >= 0 && Number.isFinite(options.holdMs))) {
      throw new RangeError(`holdMs must be ≥ 0, got ${options.holdMs}`);
    }
    this.told = options.initial ?? 1;
  }

  /** The fraction the job was last told (or believes from the start). */
  get current(): number {
    return this.told;
  }

  /** A reading `fraction` at time `at` (ms, non-decreasing); the change to tell, if any. */
  observe(at: number, fraction: number): LoadChange | null {
    const delta = fraction - this.told;
    if (Math.abs(delta) < this.options.threshold) {
      this.hold = null; // back within the band: the change did not last
      return null;
    }
    const side = delta > 0 ? 1 : -1;
    if (this.hold === null || this.hold.side !== side) {
      this.hold = { since: at, side, sum: 0, count: 0 };
    }
    const h = this.hold;
    h.sum += fraction;
    h.count++;
    if (at - h.since < this.options.holdMs) return null;
    // Every reading of the hold is ≥ threshold away on the same side, so their mean is too.
    const change = { fraction: h.sum / h.count, samples: h.count, heldMs: at - h.since };
    this.told = change.fraction;
    this.hold = null;
    return change;
  }
}
