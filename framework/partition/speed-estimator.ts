import { checkCount, checkLoad, checkSpeed, PartitionInputError } from './errors.ts';
import type { WorkerCapacity } from './types.ts';

/** Tuning of `SpeedEstimator`; see the class comment for what each does. */
export interface SpeedEstimatorOptions {
  /** Smoothing weight of a new sample, in (0, 1]. Default 0.3. */
  readonly alpha?: number;
  /** Fewest exemplars in a sample. Default 8. */
  readonly minExemplars?: number;
  /** Shortest sample, seconds. Default 0.005 (5 ms). */
  readonly minSeconds?: number;
  /** A worker's first samples that the next one replaces instead of joining. Default 1. */
  readonly warmupSamples?: number;
}

export const DEFAULT_SPEED_ALPHA = 0.3;
/** Loads below this are taken as this (see setLoad). */
export const MIN_LOAD = 1e-6;
export const DEFAULT_MIN_EXEMPLARS = 8;
export const DEFAULT_MIN_SECONDS = 0.005;
export const DEFAULT_WARMUP_SAMPLES = 1;

/** One throughput report from a worker: `count` exemplars processed in `seconds` of wall time. */
export interface Measurement {
  readonly count: number;
  readonly seconds: number;
  /**
   * The load fraction the host ran at during the measurement (time-averaged if it changed mid-pass).
   * Default: the worker's current load as last set with `setLoad`.
   */
  readonly load?: number;
}

export interface WorkerSpeedState {
  readonly declared: number;
  /** Base speed in the units of `speeds()`. */
  readonly speed: number;
  readonly load: number;
  readonly measured: boolean;
  /** Samples that went into the estimate (accumulated tiny measurements count as one). */
  readonly samples: number;
}

/**
 * Learns each worker's BASE speed (exemplars per second at full load) from measured throughput.
 *
 * Load semantics — why the partitioner never double-counts:
 *   A measured rate is an *effective* rate: it already includes the load the host was under
 *   (a host at load 0.5 processes about half as many exemplars per second). The estimator
 *   divides every measurement by the load in effect while it was taken, so what it stores and
 *   what `speeds()` returns is the load-free base speed. The current load is applied exactly once,
 *   by the partitioner, as `WorkerCapacity.speed × WorkerCapacity.load`.
 *   To make the wrong combination hard, the estimator keeps the current load itself (`setLoad`,
 *   fed from `load` events) and hands the partitioner finished `WorkerCapacity` records through
 *   `capacities()`; `speeds()` is for reports. A reported load change therefore moves the
 *   partition at once, without waiting for a new measurement; a slowdown nobody reported (another
 *   process on the host) shows up as a lower base speed after the next measurement.
 *
 * Units: before any measurement `speeds()` returns the declared ratings (relative units). Once a
 *   worker has been measured, all speeds are in exemplars/s: a never-measured worker (e.g. one
 *   that was vacated from the start) gets its declared rating × (Σ measured base speeds / Σ their
 *   declared ratings), i.e. the declared-to-measured ratio observed on the others. The partitioner
 *   only uses ratios, so the switch of units changes nothing by itself.
 *
 * Smoothing: exponential, `estimate ← (1 − a)·estimate + a·sample` with `a = max(alpha, 1/n)` for
 *   the n-th sample — the first samples are plainly averaged (no bias toward the first one), later
 *   ones weighted by `alpha`, default 0.3: a sample's weight halves after about two further
 *   samples, so a real speed change is mostly adopted within 2–3 passes, while independent noise
 *   in the samples is damped to about √(a / (2 − a)) ≈ 0.42 of its size.
 *
 * Outliers: from a worker's third real sample on, what is averaged in is the median of its
 *   last three samples, not the latest alone. On a shared machine one pass in a few dozen
 *   runs 30–50 % slow (a GC pause, the OS giving the core away: seen in the quiet benchmark's
 *   runs), and averaged in with weight 0.3 it moved an equal pair's estimates apart enough,
 *   a few times in a row, to move data that then stayed unequal.
 *
 * Warm-up: a worker's first sample includes its JIT compiling the kernel and its first page
 *   faults (a fresh thread's first pass of Opt was measured at 64 % of its later rate, and
 *   averaged in, it kept that host underfed for several passes). So each of the first
 *   `warmupSamples` samples stands alone until the next one arrives, which replaces it.
 *
 * Tiny samples: a measurement with fewer than `minExemplars` exemplars or shorter than
 *   `minSeconds` (timer resolution, scheduling jitter and start-up dominate it) is not used alone:
 *   it is accumulated with the worker's following small measurements until together they reach
 *   both minimums, and then counts as one sample (rate = Σcount / Σ(seconds × load)).
 */
export class SpeedEstimator {
  readonly alpha: number;
  readonly minExemplars: number;
  readonly minSeconds: number;
  readonly warmupSamples: number;

  private readonly declared: number[];
  private readonly loads: number[];
  /** Base speed in exemplars/s, NaN until the first sample. */
  private readonly estimates: number[];
  /** Every sample taken, warm-up ones included. */
  private readonly seenCounts: number[];
  /** Smoothed |sample − estimate| / estimate: how much one measurement of the worker scatters. */
  private readonly scatter: number[];
  /** The worker's last real samples (at most 3): what is averaged in is their median. */
  private readonly recent: number[][];
  private readonly pendingCount: number[];
  private readonly pendingSeconds: number[];
  /** Σ seconds × load of the pending measurements: the full-speed-equivalent time. */
  private readonly pendingLoadSeconds: number[];

  /** `declaredRatings[i]`: relative speed of worker i from the host description, > 0. */
  constructor(declaredRatings: readonly number[], options: SpeedEstimatorOptions = {}) {
    declaredRatings.forEach((r, i) => {
      checkSpeed(`declared rating of worker ${i}`, r);
    });
    this.alpha = options.alpha ?? DEFAULT_SPEED_ALPHA;
    this.minExemplars = options.minExemplars ?? DEFAULT_MIN_EXEMPLARS;
    this.minSeconds = options.minSeconds ?? DEFAULT_MIN_SECONDS;
    this.warmupSamples = options.warmupSamples ?? DEFAULT_WARMUP_SAMPLES;
    if (!(this.alpha > 0 && this.alpha <= 1)) {
      throw new PartitionInputError(`alpha must be in (0, 1], got ${this.alpha}`);
    }
    checkCount('minExemplars', this.minExemplars);
    checkCount('warmupSamples', this.warmupSamples);
    if (!(Number.isFinite(this.minSeconds) && this.minSeconds >= 0)) {
      throw new PartitionInputError(`minSeconds must be a finite number ≥ 0, got ${this.minSeconds}`);
    }
    const n = declaredRatings.length;
    this.declared = [...declaredRatings];
    this.loads = new Array<number>(n).fill(1);
    this.estimates = new Array<number>(n).fill(Number.NaN);
    this.seenCounts = new Array<number>(n).fill(0);
    this.scatter = new Array<number>(n).fill(0);
    this.recent = declaredRatings.map(() => []);
    this.pendingCount = new Array<number>(n).fill(0);
    this.pendingSeconds = new Array<number>(n).fill(0);
    this.pendingLoadSeconds = new Array<number>(n).fill(0);
  }

  /** Number of workers. */
  get size(): number {
    return this.declared.length;
  }

  /** A worker joined the job, rated `declaredRating`; it is estimated like the others from now on. */
  addWorker(declaredRating: number): void {
    checkSpeed(`declared rating of worker ${this.declared.length}`, declaredRating);
    this.declared.push(declaredRating);
    this.loads.push(1);
    this.estimates.push(Number.NaN);
    this.seenCounts.push(0);
    this.scatter.push(0);
    this.recent.push([]);
    this.pendingCount.push(0);
    this.pendingSeconds.push(0);
    this.pendingLoadSeconds.push(0);
  }

  /** The host now runs at `fraction` of its speed (a `load` event). Affects `capacities()` at once. */
  setLoad(worker: number, fraction: number): void {
    this.checkWorker(worker);
    checkLoad(`load of worker ${worker}`, fraction);
    // Every fraction in (0, 1] is valid, but below MIN_LOAD speed × load can underflow to 0
    // (or a measurement to an infinite speed): such a host is as good as stopped anyway.
    this.loads[worker] = Math.max(fraction, MIN_LOAD);
  }

  load(worker: number): number {
    this.checkWorker(worker);
    return this.loads[worker];
  }

  /**
   * Reports that `worker` processed `m.count` exemplars in `m.seconds` (after a pass or a piece of
   * one). Returns true if the estimate was updated, false if the measurement was too small and is
   * being accumulated.
   */
  record(worker: number, m: Measurement): boolean {
    this.checkWorker(worker);
    checkCount('measured count', m.count);
    if (!(Number.isFinite(m.seconds) && m.seconds >= 0)) {
      throw new PartitionInputError(`measured seconds must be a finite number ≥ 0, got ${m.seconds}`);
    }
    const given = m.load ?? this.loads[worker];
    checkLoad('measurement load', given);
    const load = Math.max(given, MIN_LOAD);

    this.pendingCount[worker] += m.count;
    this.pendingSeconds[worker] += m.seconds;
    this.pendingLoadSeconds[worker] += m.seconds * load;
    const count = this.pendingCount[worker];
    const seconds = this.pendingSeconds[worker];
    if (count < this.minExemplars || seconds < this.minSeconds || count === 0 || seconds === 0) return false;

    const sample = count / this.pendingLoadSeconds[worker];
    this.pendingCount[worker] = 0;
    this.pendingSeconds[worker] = 0;
    this.pendingLoadSeconds[worker] = 0;
    const seen = ++this.seenCounts[worker];
    // Until the warm-up is over each sample stands alone; then the n-th real one is averaged in.
    const n = Math.max(1, seen - this.warmupSamples);
    const a = Math.max(this.alpha, 1 / n);
    if (n > 1) {
      const deviation = Math.abs(sample - this.estimates[worker]) / this.estimates[worker];
      this.scatter[worker] =
        n === 2 ? deviation : (1 - this.alpha) * this.scatter[worker] + this.alpha * deviation;
    }
    const recent = this.recent[worker];
    if (n === 1) recent.length = 0;
    recent.push(sample);
    if (recent.length > 3) recent.shift();
    // From the third real sample on, the median of the last three is averaged in: one pass
    // that a pause (a GC, the OS) made 40 % slower moves nothing; a lasting change is taken
    // one pass later than it would be otherwise.
    const input = recent.length === 3 ? medianOfThree(recent[0], recent[1], recent[2]) : sample;
    this.estimates[worker] = n === 1 ? input : (1 - a) * this.estimates[worker] + a * input;
    return true;
  }

  /**
   * How far one measurement of `worker` typically strays from its estimate, relative (0 until
   * two real samples): a speed difference smaller than this may be nothing but noise.
   */
  noise(worker: number): number {
    this.checkWorker(worker);
    return this.scatter[worker];
  }

  isMeasured(worker: number): boolean {
    this.checkWorker(worker);
    return this.seenCounts[worker] > 0;
  }

  /**
   * Base (full-load) speed of every worker: declared ratings until something is measured, then
   * exemplars/s (unmeasured workers scaled by the declared-to-measured ratio of the measured ones).
   * Do not multiply by anything yourself to feed the partitioner — use `capacities()`.
   */
  speeds(): number[] {
    let measuredSum = 0;
    let declaredSum = 0;
    for (let i = 0; i < this.size; i++) {
      if (this.seenCounts[i] === 0) continue;
      measuredSum += this.estimates[i];
      declaredSum += this.declared[i];
    }
    const scale = declaredSum === 0 ? 1 : measuredSum / declaredSum;
    return this.declared.map((d, i) => (this.seenCounts[i] > 0 ? this.estimates[i] : d * scale));
  }

  /**
   * The partitioner's input: base speed, current load (from `setLoad`), availability.
   * `available[i]` false for vacated or lost hosts.
   */
  capacities(available: readonly boolean[]): WorkerCapacity[] {
    if (available.length !== this.size) {
      throw new PartitionInputError(
        `available has ${available.length} entries but there are ${this.size} workers`,
      );
    }
    return this.speeds().map((speed, i) => ({ speed, load: this.loads[i], available: available[i] }));
  }

  /** Per-worker state, for reports. */
  snapshot(): WorkerSpeedState[] {
    const speeds = this.speeds();
    return speeds.map((speed, i) => ({
      declared: this.declared[i],
      speed,
      load: this.loads[i],
      measured: this.seenCounts[i] > 0,
      samples: this.samplesIn(i),
    }));
  }

  /** Samples that went into worker i's estimate (a warm-up sample counts as one until replaced). */
  private samplesIn(i: number): number {
    return this.seenCounts[i] === 0 ? 0 : Math.max(1, this.seenCounts[i] - this.warmupSamples);
  }

  private checkWorker(worker: number): void {
    if (!Number.isInteger(worker) || worker < 0 || worker >= this.size) {
      throw new PartitionInputError(`worker index ${worker} is out of range 0..${this.size - 1}`);
    }
  }
}

function medianOfThree(a: number, b: number, c: number): number {
  return Math.max(Math.min(a, b), Math.min(Math.max(a, b), c));
}
