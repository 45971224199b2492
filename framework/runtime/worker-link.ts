import type { ExemplarColumns } from '../exemplars/columns.ts';
import type { FaultPlan, WorkerFault } from './faults.ts';
import type { ExtractReply, PassReply } from './messages.ts';

/**
 * What the coordinator needs from one worker, wherever it runs: a thread on this machine
 * (ThreadWorker), a deterministic in-process worker (InProcessWorker, for tests and
 * simulation), a remote one over TCP. The coordinator never reaches past this interface.
 *
 * **In-order rule.** A link handles its requests one at a time, in the order they were
 * made: a request starts only after the previous one has finished or failed. So an
 * `extract` issued before a `drop` on the same worker takes its rows first, and the `drop`
 * hands back exactly what is left.
 *
 * **Liveness rule.** A worker is alive while it makes progress (chunks computed, rows
 * copied) or while a sleep it declared (an emulated slow host idling) has not yet run
 * out; silent past `livenessMs` otherwise, it is taken as hung. A request's time limit
 * grows with the rows and bytes it carries. A worker given up on fails every later call
 * with its `WorkerFault`, and any reply it still sends is ignored.
 *
 * `stop`, `setRateLimit` and `chunksDone` are out of band: they do not wait behind a pass.
 */
export interface WorkerLink {
  readonly index: number;
  readonly host: string;
  /** False once the worker failed (threw, exited, hung) or was closed. */
  readonly alive: boolean;
  /** Why it is not alive, if it failed. */
  readonly fault: WorkerFault | null;
  /**
   * Be told once when the worker fails with no request of the job's in flight (its
   * connection closed, its agent went quiet, its thread failed idle). A failure during a
   * request is that request's rejection instead. Why: a vacated worker holds nothing and gets
   * no further request, so without this its fault never reached the report.
   */
  onIdleFault?(listener: (fault: WorkerFault) => void): void;
  /** Hand over exemplars; the caller must not touch `fragments` afterwards. Replies the count held. */
  insert(fragments: readonly ExemplarColumns[]): Promise<number>;
  /** Remove `counts[k]` exemplars for each destination k and return them. */
  extract(counts: readonly number[]): Promise<ExtractReply>;
  /**
   * Count every exemplar not yet processed in this pass (`fresh`: a new pass, flags
   * cleared first), `chunkRows` at a time. A stop requested after this call returns it
   * at the next chunk boundary; calling `pass` clears any earlier stop.
   */
  pass(params: Float64Array, fresh: boolean, chunkRows: number, checkStop: boolean): Promise<PassReply>;
  /** Unthrottled exemplars/s of the kernel on this worker, measured over `ms`. */
  calibrate(params: Float64Array, ms: number): Promise<number>;
  ids(): Promise<Int32Array>;
  /** Hand back the ids and processed flags of every exemplar held, and drop them all. */
  drop(): Promise<{ ids: Int32Array; processed: Uint8Array }>;
  /**
   * Optional (threads that may hold an agent's rows in shared memory): free the memory of
   * rows that left, now, by a garbage collection if enough did; says whether it ran. An
   * agent asks once its reply to the request that took the rows is out, so the collection
   * does not take a core from the move.
   */
  collectFreed?(): Promise<boolean>;
  /** Stop the running pass at its next chunk boundary (wakes a throttled worker). */
  stop(): void;
  /** Emulate a host of this many exemplars/s (0: run as fast as the hardware allows). */
  setRateLimit(exemplarsPerSecond: number): void;
  /** Chunks completed since the worker started: progress, for reports and benchmarks. */
  chunksDone(): number;
  close(): Promise<void>;
  /**
   * Optional, for transports whose workers can reach each other (agents): move `count` rows
   * to each `to` straight from this worker, not relayed through the coordinator. Null when
   * some receiver cannot be reached that way; the caller relays instead. Settles every part
   * before it resolves or rejects: each row is then with its receiver or still here. `held`
   * is -1 when every part reached its receiver before this worker said what it holds (the
   * plan's count is then right).
   */
  moveTo?(
    parts: readonly { readonly count: number; readonly to: WorkerLink }[],
  ): Promise<DirectMoveResult> | null;
  /**
   * Optional, for workers that can pass rows to each other while computing (threads on one
   * machine): at its next chunk boundary (at once if idle) this worker gives `count` rows to
   * each `to`, straight to it, and goes on with its pass; each receiver takes them in at its
   * own next chunk boundary and counts, in the pass it is running, those not yet counted.
   * Nobody stops. Null when some
   * receiver cannot be reached that way (the caller stops the workers and moves the rows
   * between passes instead). Never rejects: a failure (a `WorkerFault` of the sender or a
   * receiver, or an order the sender refused) comes in the result, with what was reported
   * before it: each row is then with its receiver, still with the sender, or lost with a
   * failed worker (recovery reloads it), never in two places.
   */
  handOff?(
    parts: readonly { readonly count: number; readonly to: WorkerLink }[],
  ): Promise<HandOffResult> | null;
  /**
   * With `handOff`: whether this worker can hand rows to `receiver` that way (a thread to
   * another thread of this process, not to a worker on an agent). Asked while the plan is
   * made, so a job that mixes local threads and agents moves such rows the usual way.
   */
  canHandOffTo?(receiver: WorkerLink): boolean;
  /**
   * Optional, with `handOff`: open now the channels a hand-off to each of `peers` would use,
   * so the first hand-off (often the only one: an owner's vacate) does not pay for them.
   */
  prepareHandOffs?(peers: readonly WorkerLink[]): void;
}

export interface HandOffResult {
  /** Exemplars the sender holds afterwards (-1: it did not say, having failed first). */
  readonly held: number;
  /** Exemplars each part's receiver holds once it has taken its rows in (-1: it did not say). */
  readonly receivers: readonly number[];
  readonly bytes: number;
  /**
   * Rows not yet counted in this pass that a receiver took in while it was not computing
   * (its share of the pass was already done): the pass is complete only once they are.
   */
  readonly uncounted: number;
  /**
   * How long before this result came the rows had left the sender, and the last receiver had
   * them in its store, as the workers timed it: the coordinator hears of it later (for threads,
   * by however long the OS takes to schedule it).
   */
  readonly handedAgoMs: number;
  readonly takenAgoMs: number;
  /** Why it did not complete, or null. */
  readonly failure: unknown;
}

export interface DirectMoveResult {
  /** Exemplars this worker holds afterwards (-1 if it did not say). */
  readonly held: number;
  /** Exemplars each part's receiver holds afterwards (-1 if it did not say). */
  readonly receivers: readonly number[];
  /** Bytes that travelled. */
  readonly bytes: number;
  /**
   * Rows of each part that stayed with the sender (the direct path failed for that part,
   * with both ends alive): the caller moves them another way.
   */
  readonly undelivered: readonly number[];
  /**
   * The sender's own reply, when the move did not wait for it (every row reached its
   * receiver first): it rejects with the sender's fault if the sender failed afterwards.
   */
  readonly senderReply?: Promise<void>;
}

/** What it takes to start one worker. */
export interface WorkerSpec {
  readonly index: number;
  readonly host: string;
  /** Module (href) whose `createKernel(config)` builds the app's kernel on the worker. */
  readonly kernelModule: string;
  readonly kernelConfig: unknown;
  readonly livenessMs: number;
  /** A fault to inject (tests and `--inject-fault`). */
  readonly fault?: FaultPlan;
}

/** How workers are started: threads on this machine by default. */
export interface WorkerTransport {
  readonly name: string;
  start(spec: WorkerSpec): Promise<WorkerLink>;
}
