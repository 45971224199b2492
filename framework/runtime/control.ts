/**
 * Shared memory between the coordinator-side link of one thread worker and its thread.
 * The thread reads it once per chunk of its inner loop (`Atomics.load`, ~10 ns) instead of
 * polling messages, so a stop is noticed within one chunk; the link reads the thread's
 * progress from it to tell a slow worker from a hung one. Only `ThreadWorker` and the
 * thread use it: the coordinator speaks to every worker through `WorkerLink`.
 *
 * Layout: Int32 [0] stop flag (0 run, 1 stop at the next chunk boundary); [1] chunks
 * completed; [2] rows copied in moves (progress outside passes); [3] other work done
 * (kernel calls while calibrating);
 * Float64 [2] rate limit in exemplars/s (0 = unlimited: the emulated speed);
 * Float64 [3] the wall-clock time (epoch ms) until which the thread declared it sleeps;
 * Int32 [8] mail: bumped by whoever posts the thread a message it must read mid-pass (a
 * hand-off order from the coordinator, rows from another thread), so the pass loop looks
 * at its ports only when something is there; Int32 [9] pass requests made to the thread, so
 * it can tell, when idle, that a pass it has not started yet is on its way.
 */
const CONTROL_BYTES = 40;
const MAIL = 8;
const PASSES = 9;

export class WorkerControl {
  readonly buffer: SharedArrayBuffer;
  private readonly ints: Int32Array;
  private readonly floats: Float64Array;

  constructor(buffer?: SharedArrayBuffer) {
    this.buffer = buffer ?? new SharedArrayBuffer(CONTROL_BYTES);
    this.ints = new Int32Array(this.buffer, 0, 10);
    this.floats = new Float64Array(this.buffer, 0, 4);
  }

  /** Ask the worker to stop at its next chunk boundary, and wake it if it is throttled. */
  requestStop(): void {
    Atomics.store(this.ints, 0, 1);
    Atomics.notify(this.ints, 0);
  }

  clearStop(): void {
    Atomics.store(this.ints, 0, 0);
  }

  stopRequested(): boolean {
    return Atomics.load(this.ints, 0) !== 0;
  }

  chunkDone(): void {
    Atomics.add(this.ints, 1, 1);
  }

  chunksDone(): number {
    return Atomics.load(this.ints, 1);
  }

  /** Rows copied or handed over in a move: a sign of life outside passes. */
  rowsMoved(n: number): void {
    Atomics.add(this.ints, 2, n);
  }

  /** Some work done outside passes and moves (a kernel call while calibrating). */
  beat(): void {
    Atomics.add(this.ints, 3, 1);
  }

  /** A number that changes whenever the worker makes progress of any kind. */
  progress(): number {
    return Atomics.load(this.ints, 1) + Atomics.load(this.ints, 2) + Atomics.load(this.ints, 3);
  }

  /** Something was posted to the thread that it must read mid-pass: tell it, and wake it if it idles. */
  postedMail(): void {
    Atomics.add(this.ints, MAIL, 1);
    Atomics.notify(this.ints, 0);
  }

  /** Changes whenever mail is posted: the thread compares it with the last value it read. */
  mail(): number {
    return Atomics.load(this.ints, MAIL);
  }

  /** A pass request is about to be posted to the thread. */
  passRequested(): void {
    Atomics.add(this.ints, PASSES, 1);
  }

  passesRequested(): number {
    return Atomics.load(this.ints, PASSES);
  }

  setRateLimit(exemplarsPerSecond: number): void {
    this.floats[2] = exemplarsPerSecond;
  }

  rateLimit(): number {
    return this.floats[2];
  }

  /** Epoch ms until which the worker said it sleeps (an emulated slow host idling). */
  sleepingUntil(): number {
    return this.floats[3];
  }

  /**
   * Sleep up to `ms` (an emulated slow host idling), waking at once if a stop is requested.
   * The sleep is declared first, so the link does not take a throttled worker for a hung one.
   * Only ever called on worker threads: Atomics.wait blocks the caller.
   */
  idle(ms: number): void {
    this.floats[3] = Date.now() + ms;
    Atomics.wait(this.ints, 0, 0, ms);
    this.floats[3] = 0;
  }
}
