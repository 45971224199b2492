import type { PassKernel } from '../app/kernel.ts';
import type { ExemplarColumns } from '../exemplars/columns.ts';
import { batchRowsFor, byteSize } from '../exemplars/rows.ts';
import { COMPACT_ABOVE_BATCHES, ExemplarStore } from '../exemplars/store.ts';
import { type FaultKind, FaultSchedule, PROTOCOL_ERROR_TAG, WorkerFault } from './faults.ts';
import { InProcessMail, idsOf, transferColumns } from './in-process-mail.ts';
import { Injected, type RequestKind, RequestLoop } from './in-process-request-loop.ts';
import type { InProcessObserver, InProcessOptions } from './in-process-transport.ts';
import type { ExtractReply, PassReply } from './messages.ts';
import { beginPass, countChunk, endPass, kernelFailure } from './pass-loop.ts';
import type { VirtualTime } from './virtual-time.ts';
import type { HandOffResult, WorkerLink, WorkerSpec } from './worker-link.ts';

/**
 * Workers in this process, on a virtual clock: no threads, nothing real to wait for. Each
 * worker holds an ExemplarStore and runs the app's kernel exactly as a thread worker does
 * (same store, same processed flags, same chunked loop with a stop check before each
 * chunk), but every piece of work is a step on a `VirtualTime`: a chunk of n rows takes
 * n ÷ rate virtual seconds, a move takes bytes ÷ copy speed. A driver can therefore stop,
 * load, fault and interleave workers between any two chunks, deterministically. It is a
 * real WorkerLink (the reference a TCP transport is tested against), not a test double.
 */

/** The slowest copy a healthy worker makes, bytes per ms (as for threads): sets move time limits. */
const SLOWEST_COPY_BYTES_PER_MS = 20_000;

export class InProcessWorker implements WorkerLink {
  readonly index: number;
  readonly host: string;
  private readonly store = new ExemplarStore();
  private readonly time: VirtualTime;
  private readonly baseRate: number;
  private readonly copyBytesPerMs: number;
  private readonly livenessMs: number;
  private readonly observer: InProcessObserver;
  private readonly planned: FaultSchedule;
  private dead: WorkerFault | null = null;
  /** The request FIFO, with the liveness rule and the virtual sleeps of the work. */
  private readonly requests: RequestLoop;
  /** Hand-offs (see `handOff`), as the thread worker's mail works. */
  private readonly mail: InProcessMail;
  private stopFlag = false;
  private rate = 0;
  private chunks = 0;
  /** Rows copied in or out by moves: progress outside passes. */
  private rowsMoved = 0;
  private rowBytes = 0;
  // Driver controls (see the methods below).
  private slowNext = 0;
  private throwNext = false;
  private failMove: FaultKind | null = null;

  constructor(
    spec: WorkerSpec,
    private readonly kernel: PassKernel,
    options: InProcessOptions,
  ) {
    this.index = spec.index;
    this.host = spec.host;
    this.time = options.time;
    this.baseRate = options.baseRate?.(spec.index) ?? 10_000;
    this.copyBytesPerMs = options.copyBytesPerMs ?? 100_000;
    this.livenessMs = spec.livenessMs;
    this.observer = options.observer ?? {};
    this.planned = new FaultSchedule(spec.fault);
    this.requests = new RequestLoop(this, this.time, this.observer, {
      giveUp: (fault) => this.giveUp(fault),
      served: () => this.mail.posted(),
    });
    this.mail = new InProcessMail(this, this.store, this.time, this.observer, {
      beforeMove: () => this.moveFaultFired(),
      moved: (rows) => this.moved(rows),
      giveUp: (fault) => this.giveUp(fault),
      idle: () => this.requests.idle,
    });
  }

  get alive(): boolean {
    return this.dead === null;
  }

  get fault(): WorkerFault | null {
    return this.dead;
  }

  // ---- WorkerLink --------------------------------------------------------------------

  insert(fragments: readonly ExemplarColumns[]): Promise<number> {
    this.observer.request?.(this, 'insert', fragments);
    if (this.dead) return Promise.reject(this.dead);
    const bytes = fragments.reduce((s, f) => s + byteSize(f), 0);
    const rows = fragments.reduce((s, f) => s + f.count, 0);
    if (rows > 0) this.rowBytes = bytes / rows;
    let mine: ExemplarColumns[];
    try {
      // Handed over now, as a message with a transfer list: the caller's buffers are detached.
      mine = transferColumns(fragments);
    } catch (error) {
      // E.g. a fragment the caller had already handed over (detached): a caller's bug, not a fault.
      this.observer.unexpected?.(this, error);
      return Promise.reject(error);
    }
    return this.requests.enqueue('insert', this.limitFor(bytes), async () => {
      await this.beginMove();
      await this.requests.busy(bytes / this.copyBytesPerMs);
      for (const f of mine) this.store.add(f);
      if (this.store.batchCount > COMPACT_ABOVE_BATCHES)
        this.store.compact(batchRowsFor(this.store.columns()[0]));
      this.moved(rows);
      return this.store.count;
    });
  }

  extract(counts: readonly number[]): Promise<ExtractReply> {
    const tag = this.observer.request?.(this, 'extract', null);
    if (this.dead) return Promise.reject(this.dead);
    const rows = counts.reduce((s, n) => s + n, 0);
    return this.requests.enqueue('extract', this.limitFor(rows * this.rowBytes), async () => {
      await this.beginMove();
      const total = counts.reduce((t, n) => t + n, 0);
      if (!counts.every((n) => Number.isInteger(n) && n >= 0) || total > this.store.count) {
        throw new Error(`${PROTOCOL_ERROR_TAG}extract ${counts.join('+')} from ${this.store.count} held`);
      }
      const taken = counts.map((n) => this.store.take(n));
      await this.requests.busy(taken.flat().reduce((s, f) => s + byteSize(f), 0) / this.copyBytesPerMs);
      this.moved(rows);
      const parts = taken.map(transferColumns);
      this.observer.removed?.(this, 'extract', idsOf(parts.flat()), parts.flat(), tag);
      return { parts, held: this.store.count };
    });
  }

  pass(params: Float64Array, fresh: boolean, chunkRows: number, checkStop: boolean): Promise<PassReply> {
    this.observer.request?.(this, 'pass', null);
    if (this.dead) return Promise.reject(this.dead);
    // Cleared at the call, as the thread link does: a stop made after this call is never lost.
    this.stopFlag = false;
    this.mail.passRequested();
    return this.requests.enqueue('pass', this.livenessMs, () =>
      this.runPass(params, fresh, chunkRows, checkStop),
    );
  }

  calibrate(_params: Float64Array, ms: number): Promise<number> {
    this.observer.request?.(this, 'calibrate', null);
    if (this.dead) return Promise.reject(this.dead);
    return this.requests.enqueue('calibrate', this.livenessMs + ms, async () => {
      await this.begin();
      await this.requests.busy(ms);
      return this.baseRate;
    });
  }

  ids(): Promise<Int32Array> {
    this.observer.request?.(this, 'ids', null);
    if (this.dead) return Promise.reject(this.dead);
    return this.requests.enqueue('ids', this.livenessMs, async () => {
      await this.begin();
      return this.store.ids();
    });
  }

  drop(): Promise<{ ids: Int32Array; processed: Uint8Array }> {
    const tag = this.observer.request?.(this, 'drop', null);
    if (this.dead) return Promise.reject(this.dead);
    return this.requests.enqueue('drop', this.livenessMs, async () => {
      await this.beginMove();
      const ids = this.store.ids();
      const processed = this.store.processedFlags();
      this.store.clear();
      this.observer.removed?.(this, 'drop', ids, [], tag);
      await this.requests.busy((5 * ids.length) / this.copyBytesPerMs);
      this.moved(ids.length);
      return { ids, processed };
    });
  }

  stop(): void {
    this.stopFlag = true;
    this.requests.wakeEarly();
  }

  setRateLimit(exemplarsPerSecond: number): void {
    this.rate = exemplarsPerSecond;
  }

  chunksDone(): number {
    return this.chunks;
  }

  async close(): Promise<void> {
    if (this.dead) return;
    this.giveUp(new WorkerFault(this.index, this.host, 'exited', 'close', 'closed'));
  }

  // ---- Hand-offs: rows straight to another worker while both compute ------------------

  /** Only to another worker of this in-process transport. */
  canHandOffTo(receiver: WorkerLink): receiver is InProcessWorker {
    return receiver instanceof InProcessWorker && receiver !== this;
  }

  /**
   * `WorkerLink.handOff`, as the thread worker does it: the order is read at this worker's
   * next chunk boundary (at once if idle), the rows go straight to each receiver's inbox, and
   * each receiver takes them in at its own next chunk boundary. A worker idle with a pass
   * request on its way holds its mail until that pass has set its flags.
   */
  handOff(
    parts: readonly { readonly count: number; readonly to: WorkerLink }[],
  ): Promise<HandOffResult> | null {
    const receivers = parts.map((p) => p.to);
    if (!receivers.every((r): r is InProcessWorker => this.canHandOffTo(r) && r.alive)) return null;
    const ms = this.limitFor(parts.reduce((n, p) => n + p.count, 0) * this.rowBytes);
    return this.mail.handOff(
      parts.map((p, k) => ({ to: receivers[k].mail, count: p.count })),
      ms,
    );
  }

  /**
   * A fault planned or set by the driver for the next move fires here (a thread's fault in the
   * middle of a hand-off): a throw fails the pass it happens in, or, idle, the worker.
   */
  private moveFaultFired(): boolean {
    const kind = this.failMove ?? this.planned.move();
    this.failMove = null;
    if (kind === null) return true;
    if (kind === 'throw' && this.mail.inPass) throw new Injected('throw');
    if (kind === 'hang') this.hangNow();
    else {
      const failure = kind === 'exit' ? 'exited' : 'threw';
      this.giveUp(new WorkerFault(this.index, this.host, failure, 'idle', `injected fault: ${kind}`));
    }
    return false;
  }

  // ---- Driver controls: faults and delays at a moment of the driver's choosing --------

  /** The next request starts only after `ms` of virtual silence (past `livenessMs`: taken as hung). */
  slowNextReply(ms: number): void {
    this.slowNext = Math.max(0, ms);
  }

  /** Stop doing anything, without a word: only the liveness rule can tell. */
  hangNow(): void {
    this.requests.hang();
  }

  /** The next request throws (after any slow start). */
  throwOnNextRequest(): void {
    this.throwNext = true;
  }

  /** Exit now: the request in service and every later call fail with `exited`. */
  exitNow(): void {
    this.giveUp(
      new WorkerFault(
        this.index,
        this.host,
        'exited',
        this.requests.currentKind ?? 'idle',
        'injected fault: exit',
      ),
    );
  }

  /** The next insert, extract or drop fails this way when it starts. */
  failDuringNextMove(kind: FaultKind): void {
    this.failMove = kind;
  }

  // ---- Inspection (the driver asks the worker itself, outside the request FIFO) -------

  /** Ids held now. */
  heldIds(): Int32Array {
    // Rows handed over and not yet taken in are this worker's (lost with it if it fails).
    const waiting = this.mail.waiting();
    if (waiting.length === 0) return this.store.ids();
    const ids = this.store.ids();
    const all = new Int32Array(ids.length + waiting.reduce((n, f) => n + f.count, 0));
    all.set(ids);
    all.set(idsOf(waiting), ids.length);
    return all;
  }

  get movedRows(): number {
    return this.rowsMoved;
  }

  get heldCount(): number {
    return this.store.count;
  }

  /** An insert, extract or drop is queued or in service. */
  get moving(): boolean {
    return this.requests.movesQueued || this.mail.inFlight;
  }

  get busyRequests(): readonly RequestKind[] {
    return this.requests.busyRequests;
  }

  get isHung(): boolean {
    return this.requests.isHung;
  }

  // ---- Inside a request ----------------------------------------------------------------

  private giveUp(fault: WorkerFault): void {
    if (this.dead) return;
    this.dead = fault;
    this.stopFlag = true;
    this.mail.workerFailed(fault);
    this.requests.abandon(fault);
  }

  /** The start of every request: a slow reply's silence, then the driver's or the plan's fault. */
  private async begin(planned: FaultKind | null = null): Promise<void> {
    const slow = this.slowNext;
    this.slowNext = 0;
    // Undeclared: a worker that is merely slow says nothing while it is slow.
    await this.requests.sleep(slow, false, false);
    if (this.dead) {
      // Given up on while silent: its answer comes too late and is ignored (it goes no further).
      this.observer.lateReply?.(this, this.requests.servingKind);
      await new Promise<never>(() => {});
    }
    const kind = this.throwNext ? 'throw' : planned;
    this.throwNext = false;
    if (kind !== null) await this.fire(kind);
    // Rows already handed over are held before the request runs (in-order rule); a pass reads
    // its mail itself, once its flags are set.
    if (this.requests.servingKind !== 'pass') this.mail.read();
  }

  private async beginMove(): Promise<void> {
    const planned = this.planned.move();
    const driver = this.failMove;
    this.failMove = null;
    await this.begin(driver ?? planned);
  }

  private async fire(kind: FaultKind): Promise<never> {
    if (kind === 'exit') this.exitNow();
    if (kind === 'hang') this.hangNow();
    if (kind === 'throw') throw new Injected('throw');
    // Exited or hung: this request never finishes by itself.
    return new Promise<never>(() => {});
  }

  private moved(rows: number): void {
    this.rowsMoved += rows;
    this.requests.progressed();
  }

  /** The thread worker's pass loop (`runPassLoop`), with the throttle as virtual sleeps. */
  private async runPass(
    params: Float64Array,
    fresh: boolean,
    chunkRows: number,
    checkStop: boolean,
  ): Promise<PassReply> {
    await this.begin();
    this.mail.passStarted();
    try {
      return await this.passLoop(params, fresh, chunkRows, checkStop);
    } finally {
      this.mail.passEnded();
    }
  }

  private async passLoop(
    params: Float64Array,
    fresh: boolean,
    chunkRows: number,
    checkStop: boolean,
  ): Promise<PassReply> {
    this.planned.passStarted(fresh);
    if (fresh) this.store.resetProcessed();
    // Rows handed over now carry this pass's flags: the mail is read only once they are set.
    this.mail.read();
    const start = this.time.now();
    const dim = this.store.dim;
    let length: number;
    try {
      length = this.kernel.accumulatorLength(params, dim);
    } catch (error) {
      throw kernelFailure(error);
    }
    const acc = new Float64Array(length);
    let processed = 0;
    const reply = (interrupted: boolean): PassReply => ({
      acc,
      processed,
      interrupted,
      elapsedMs: this.time.now() - start,
      held: this.store.count,
      remaining: interrupted ? this.store.unprocessed() : 0,
    });
    // Moves wait behind the pass (in-order rule), and so does every other call of this kernel,
    // so the kernel session may span the awaits; only hand-offs change the store meanwhile, at
    // chunk boundaries, and the loop then starts over on the store as it is (flags skip rows).
    beginPass(this.kernel, params, acc);
    try {
      scan: for (;;) {
        for (const cols of this.store.columns()) {
          for (let s = 0; s < cols.count; s += chunkRows) {
            if (checkStop && this.stopFlag) return reply(true);
            if (this.mail.read()) continue scan;
            const counted = countChunk(
              cols,
              s,
              Math.min(s + chunkRows, cols.count),
              this.kernel,
              params,
              acc,
            );
            processed += counted;
            if (counted > 0) {
              const rate = this.rate > 0 ? this.rate : this.baseRate;
              await this.requests.sleep((counted / rate) * 1000, true, true);
            }
            this.chunks++;
            this.requests.progressed();
            const due = this.planned.chunkDone();
            if (due !== null) await this.fire(due);
          }
        }
        if (!this.mail.read()) break;
      }
    } finally {
      endPass(this.kernel, acc);
    }
    return reply(false);
  }

  /** The liveness limit plus the time the slowest healthy copy of `bytes` takes. */
  private limitFor(bytes: number): number {
    return this.livenessMs + bytes / SLOWEST_COPY_BYTES_PER_MS;
  }
}
