/**
 * Shared memory between the coordinator and its worker threads. Workers read it once
 * per chunk of their inner loop (`Atomics.load`, ~10 ns) instead of polling messages,
 * so a pending migration is noticed within one chunk.
 *
 * Layout: Int32 [0] migration flag (0 run, 1 stop at the next chunk boundary);
 * Int32 [1 + i] chunks completed by worker i (for tests and progress);
 * Float64 rate limit of worker i in exemplars/s (0 = unlimited): its emulated speed.
 */
export class WorkerControl {
  readonly buffer: SharedArrayBuffer;
  private readonly ints: Int32Array;
  private readonly rates: Float64Array;

  constructor(
    readonly workers: number,
    buffer?: SharedArrayBuffer,
  ) {
    const rateOffset = Math.ceil(((1 + workers) * 4) / 8) * 8;
    this.buffer = buffer ?? new SharedArrayBuffer(rateOffset + workers * 8);
    this.ints = new Int32Array(this.buffer, 0, 1 + workers);
    this.rates = new Float64Array(this.buffer, rateOffset, workers);
  }

  /** Ask every worker to stop at its next chunk boundary, and wake any that is throttled. */
  requestMigration(): void {
    Atomics.store(this.ints, 0, 1);
    Atomics.notify(this.ints, 0);
  }

  clearMigration(): void {
    Atomics.store(this.ints, 0, 0);
  }

  migrationRequested(): boolean {
    return Atomics.load(this.ints, 0) !== 0;
  }

  chunkDone(worker: number): void {
    Atomics.add(this.ints, 1 + worker, 1);
  }

  chunksDone(worker: number): number {
    return Atomics.load(this.ints, 1 + worker);
  }

  setRateLimit(worker: number, exemplarsPerSecond: number): void {
    this.rates[worker] = exemplarsPerSecond;
  }

  rateLimit(worker: number): number {
    return this.rates[worker];
  }

  /**
   * Sleep up to `ms` (an emulated slow host idling), waking at once if a migration is
   * requested. Only ever called on worker threads: Atomics.wait blocks the caller.
   */
  idle(ms: number): void {
    Atomics.wait(this.ints, 0, 0, ms);
  }
}
