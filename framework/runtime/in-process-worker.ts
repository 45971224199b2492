import type { KernelModule, PassKernel } from '../app/kernel.ts';
import type { ExemplarColumns } from '../exemplars/columns.ts';
import { batchRowsFor, byteSize, transferListOf, unprocessedIn } from '../exemplars/rows.ts';
import { ExemplarStore } from '../exemplars/store.ts';
import {
  classifyWorkerError,
  type FaultKind,
  FaultSchedule,
  PROTOCOL_ERROR_TAG,
  WorkerFault,
} from './faults.ts';
import { HandOffRecord } from './hand-off-record.ts';
import type { ExtractReply, PassReply } from './messages.ts';
import { beginPass, countChunk, endPass, kernelFailure } from './pass-loop.ts';
import type { VirtualTime, VirtualTimer } from './virtual-time.ts';
import type { HandOffResult, WorkerLink, WorkerSpec, WorkerTransport } from './worker-link.ts';

/**
 * Workers in this process, on a virtual clock: no threads, nothing real to wait for. Each
 * worker holds an ExemplarStore and runs the app's kernel exactly as a thread worker does
 * (same store, same processed flags, same chunked loop with a stop check before each
 * chunk), but every piece of work is a step on a `VirtualTime`: a chunk of n rows takes
 * n ÷ rate virtual seconds, a move takes bytes ÷ copy speed. A driver can therefore stop,
 * load, fault and interleave workers between any two chunks, deterministically. It is a
 * real WorkerLink (the reference a TCP transport is tested against), not a test double.
 */

export type RequestKind = 'insert' | 'extract' | 'pass' | 'calibrate' | 'ids' | 'drop';

const MOVES: ReadonlySet<RequestKind> = new Set(['insert', 'extract', 'drop']);

/** The slowest copy a healthy worker makes, bytes per ms (as for threads): sets move time limits. */
const SLOWEST_COPY_BYTES_PER_MS = 20_000;
/** Above this many fragments, merge them so chunks stay full (as the thread worker does). */
const MAX_BATCHES = 64;

/** Watches a transport's workers from outside the coordinator (tests, simulation reports). */
export interface InProcessObserver {
  /**
   * The coordinator called `kind` on `worker` (at the call, not when it is served, even if the
   * worker is dead and the call fails at once); `fragments`
   * are what an insert carries. What it returns is handed back with `removed`.
   */
  request?(worker: InProcessWorker, kind: RequestKind, fragments: readonly ExemplarColumns[] | null): unknown;
  /** Rows left `worker`'s store (an extract: the fragments handed back; a drop). */
  removed?(
    worker: InProcessWorker,
    kind: RequestKind,
    ids: Int32Array,
    fragments: readonly ExemplarColumns[],
    tag: unknown,
  ): void;
  /** A worker failed for a reason nobody injected (a bug, e.g. asked for more rows than it holds). */
  unexpected?(worker: InProcessWorker, error: unknown): void;
  /** A reply came after the worker was given up on (and was ignored). */
  lateReply?(worker: InProcessWorker, kind: RequestKind): void;
}

export interface InProcessOptions {
  readonly time: VirtualTime;
  /** Exemplars/s of worker `index` when no rate limit is set (default 10,000). */
  readonly baseRate?: (index: number) => number;
  /** Bytes a move copies per virtual ms (default 100,000: 100 MB/s). */
  readonly copyBytesPerMs?: number;
  readonly observer?: InProcessObserver;
}

/** In-process workers on `options.time`; `workers[i]` is the one started for host index i. */
export class InProcessTransport implements WorkerTransport {
  readonly name = 'in-process';
  readonly workers: InProcessWorker[] = [];

  constructor(private readonly options: InProcessOptions) {}

  async start(spec: WorkerSpec): Promise<WorkerLink> {
    const mod = await loadKernelModule(spec.kernelModule);
    const w = new InProcessWorker(spec, mod.createKernel(spec.kernelConfig), this.options);
    this.workers[spec.index] = w;
    return w;
  }
}

const kernelModules = new Map<string, Promise<KernelModule>>();

/**
 * The kernel module, imported once per process: later starts get an already settled
 * promise, so starting a worker takes no real I/O (call it before a virtual run to warm it).
 */
export function loadKernelModule(href: string): Promise<KernelModule> {
  let mod = kernelModules.get(href);
  if (mod === undefined) {
    mod = import(href) as Promise<KernelModule>;
    kernelModules.set(href, mod);
  }
  return mod;
}

/** A fault the worker itself raises (the in-process analogue of a thread's exit or hang). */
class Injected extends Error {
  constructor(readonly kind: FaultKind) {
    super(`injected fault: ${kind}`);
  }
}

interface InService {
  readonly kind: RequestKind;
  readonly limitMs: number;
  readonly reject: (fault: WorkerFault) => void;
  watch: VirtualTimer | null;
}

/** An order to hand rows over (`handOff`), from the call until the sender and every receiver reported. */
interface HandOffOrder {
  readonly sender: InProcessWorker;
  readonly parts: readonly { readonly to: InProcessWorker; readonly count: number }[];
  /** The observer's tag for the call (the rows leave as an extract, arrive as an insert). */
  readonly tag: unknown;
  readonly record: HandOffRecord;
  /** Resolve with the record, once it is complete. */
  readonly settle: () => void;
}

/** A sleep that `stop()` may cut short (a throttled worker between chunks). */
interface Sleeper {
  handle: VirtualTimer;
  readonly wake: () => void;
}

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
  /** Requests made and not yet finished, in order (the one in service first). */
  private readonly queued: RequestKind[] = [];
  /** The end of the FIFO: the next request starts when this settles (in-order rule). */
  private tail: Promise<void> = Promise.resolve();
  private current: InService | null = null;
  /** The kind of the request last taken into service (it outlives `current` on a give-up). */
  private serving: RequestKind = 'ids';
  private stopFlag = false;
  private rate = 0;
  private chunks = 0;
  /** Rows copied in or out by moves: progress outside passes. */
  private rowsMoved = 0;
  private lastProgressAt = 0;
  /** Virtual time until which the worker declared it is busy (a chunk, a copy). */
  private sleepingUntil = 0;
  private sleeper: Sleeper | null = null;
  private rowBytes = 0;
  // Driver controls (see the methods below).
  private hung = false;
  private slowNext = 0;
  private throwNext = false;
  private failMove: FaultKind | null = null;
  // Hand-offs (see `handOff`), as the thread worker's mail works.
  /** Orders to hand rows over, read at the next chunk boundary, or at once when idle. */
  private readonly orders: HandOffOrder[] = [];
  /** Rows handed to this worker, taken in at its next chunk boundary, or at once when idle. */
  private readonly inbox: { order: HandOffOrder; fragments: ExemplarColumns[] }[] = [];
  /** Hand-offs this worker is part of that have not settled. */
  private readonly handOffs = new Set<HandOffOrder>();
  private passesRequested = 0;
  private passesStarted = 0;
  /** Inside a pass loop: rows taken in now are counted by it. */
  private inPass = false;

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
    this.lastProgressAt = this.time.now();
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
    return this.enqueue('insert', this.limitFor(bytes), async () => {
      await this.beginMove();
      await this.busy(bytes / this.copyBytesPerMs);
      for (const f of mine) this.store.add(f);
      if (this.store.batchCount > MAX_BATCHES) this.store.compact(batchRowsFor(this.store.columns()[0]));
      this.moved(rows);
      return this.store.count;
    });
  }

  extract(counts: readonly number[]): Promise<ExtractReply> {
    const tag = this.observer.request?.(this, 'extract', null);
    if (this.dead) return Promise.reject(this.dead);
    const rows = counts.reduce((s, n) => s + n, 0);
    return this.enqueue('extract', this.limitFor(rows * this.rowBytes), async () => {
      await this.beginMove();
      const total = counts.reduce((t, n) => t + n, 0);
      if (!counts.every((n) => Number.isInteger(n) && n >= 0) || total > this.store.count) {
        throw new Error(`${PROTOCOL_ERROR_TAG}extract ${counts.join('+')} from ${this.store.count} held`);
      }
      const taken = counts.map((n) => this.store.take(n));
      await this.busy(taken.flat().reduce((s, f) => s + byteSize(f), 0) / this.copyBytesPerMs);
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
    this.passesRequested++;
    return this.enqueue('pass', this.livenessMs, () => this.runPass(params, fresh, chunkRows, checkStop));
  }

  calibrate(_params: Float64Array, ms: number): Promise<number> {
    this.observer.request?.(this, 'calibrate', null);
    if (this.dead) return Promise.reject(this.dead);
    return this.enqueue('calibrate', this.livenessMs + ms, async () => {
      await this.begin();
      await this.busy(ms);
      return this.baseRate;
    });
  }

  ids(): Promise<Int32Array> {
    this.observer.request?.(this, 'ids', null);
    if (this.dead) return Promise.reject(this.dead);
    return this.enqueue('ids', this.livenessMs, async () => {
      await this.begin();
      return this.store.ids();
    });
  }

  drop(): Promise<{ ids: Int32Array; processed: Uint8Array }> {
    const tag = this.observer.request?.(this, 'drop', null);
    if (this.dead) return Promise.reject(this.dead);
    return this.enqueue('drop', this.livenessMs, async () => {
      await this.beginMove();
      const ids = this.store.ids();
      const processed = this.store.processedFlags();
      this.store.clear();
      this.observer.removed?.(this, 'drop', ids, [], tag);
      await this.busy((5 * ids.length) / this.copyBytesPerMs);
      this.moved(ids.length);
      return { ids, processed };
    });
  }

  stop(): void {
    this.stopFlag = true;
    // Wake a throttled worker, as Atomics.notify does for a thread.
    const s = this.sleeper;
    if (s !== null && !this.hung) {
      this.time.clearTimeout(s.handle);
      s.handle = this.time.schedule(s.wake, 0, `w${this.index}:woken`);
    }
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
    if (
      !receivers.every((r): r is InProcessWorker => r instanceof InProcessWorker && r !== this && r.alive)
    ) {
      return null;
    }
    const tag = this.observer.request?.(this, 'extract', null);
    const counts = parts.map((p) => p.count);
    const record = new HandOffRecord(counts);
    if (this.dead) {
      record.senderFailed(this.dead);
      return Promise.resolve(record.result(this.time.now()));
    }
    const ms = this.limitFor(counts.reduce((n, c) => n + c, 0) * this.rowBytes);
    return new Promise<HandOffResult>((resolve) => {
      let settled = false;
      const order: HandOffOrder = {
        sender: this,
        parts: parts.map((p, k) => ({ to: receivers[k], count: p.count })),
        tag,
        record,
        settle: () => {
          if (settled) return;
          settled = true;
          this.time.clearTimeout(limit);
          resolve(record.result(this.time.now()));
          // Still moving until the coordinator has taken the result in (its counts then agree).
          this.time.schedule(
            () => {
              for (const w of [this, ...receivers]) w.handOffs.delete(order);
            },
            0,
            `w${this.index}:handOff-done`,
          );
        },
      };
      // As for threads: whoever has not reported by then is taken for hung.
      const limit = this.time.schedule(
        () => {
          const late = record.handed === null ? [this] : receivers.filter((_, k) => record.waitsFor(k));
          for (const w of late)
            w.giveUp(new WorkerFault(w.index, w.host, 'hung', 'handOff', `no report for ${ms} ms`));
        },
        ms,
        `w${this.index}:handOff-limit`,
      );
      for (const w of [this, ...receivers]) w.handOffs.add(order);
      this.orders.push(order);
      this.mailPosted();
    });
  }

  /** Mail came: an idle worker reads it at the next step (a thread's event loop). */
  private mailPosted(): void {
    if (this.orders.length + this.inbox.length === 0) return;
    this.time.schedule(
      () => {
        if (this.current === null && this.queued.length === 0) this.readMail();
      },
      0,
      `w${this.index}:mail`,
    );
  }

  /** Carry out orders and take rows in. True when the store changed. */
  private readMail(): boolean {
    if (this.dead || this.hung) return false;
    // Idle with a pass on its way: the flags are the last pass's until it starts.
    if (!this.inPass && this.passesRequested > this.passesStarted) return false;
    let changed = false;
    for (let o = this.orders.shift(); o !== undefined; o = this.orders.shift()) {
      if (this.carryOut(o)) changed = true;
      if (this.dead || this.hung) return changed;
    }
    while (this.inbox.length > 0) {
      const m = this.inbox[0];
      // Still in the inbox if a fault fires taking it in: lost with this worker, and counted as its.
      if (!this.takeIn(m.order, m.fragments)) return changed;
      this.inbox.shift();
      changed = true;
    }
    return changed;
  }

  private carryOut(o: HandOffOrder): boolean {
    const total = o.parts.reduce((n, p) => n + p.count, 0);
    if (total > this.store.count) {
      // The coordinator's counts are wrong, not the worker: nothing moves.
      o.record.senderFailed(
        new Error(
          `hand-off refused by worker ${this.index} (${this.host}): hand-off of ${total} exemplars from ${this.store.count} held`,
        ),
      );
      this.report(o);
      return false;
    }
    if (!this.moveFaultFired()) return false;
    let bytes = 0;
    for (const p of o.parts) {
      const fragments = transferColumns(this.store.take(p.count));
      for (const f of fragments) bytes += byteSize(f);
      this.observer.removed?.(this, 'extract', idsOf(fragments), fragments, o.tag);
      p.to.inbox.push({ order: o, fragments });
      p.to.mailPosted();
    }
    this.moved(total);
    o.record.handed = { held: this.store.count, bytes, at: this.time.now() };
    this.report(o);
    return true;
  }

  /** False when a fault fired instead (the rows stay where they are, with this worker). */
  private takeIn(o: HandOffOrder, fragments: ExemplarColumns[]): boolean {
    if (!this.moveFaultFired()) return false;
    this.observer.request?.(this, 'insert', fragments);
    let rows = 0;
    let unprocessed = 0;
    for (const f of fragments) {
      this.store.add(f);
      rows += f.count;
      unprocessed += unprocessedIn(f);
    }
    this.moved(rows);
    const k = o.parts.findIndex((p) => p.to === this);
    o.record.tookIn(k, this.store.count, this.time.now(), this.inPass, unprocessed);
    this.report(o);
    return true;
  }

  /**
   * A fault planned or set by the driver for the next move fires here (a thread's fault in the
   * middle of a hand-off): a throw fails the pass it happens in, or, idle, the worker.
   */
  private moveFaultFired(): boolean {
    const kind = this.failMove ?? this.planned.move();
    this.failMove = null;
    if (kind === null) return true;
    if (kind === 'throw' && this.inPass) throw new Injected('throw');
    if (kind === 'hang') this.hangNow();
    else {
      const failure = kind === 'exit' ? 'exited' : 'threw';
      this.giveUp(new WorkerFault(this.index, this.host, failure, 'idle', `injected fault: ${kind}`));
    }
    return false;
  }

  /** The report reaches the coordinator at the next step, as a thread's message does. */
  private report(o: HandOffOrder): void {
    this.time.schedule(
      () => {
        if (o.record.complete) o.settle();
      },
      0,
      `w${this.index}:handOff-report`,
    );
  }

  // ---- Driver controls: faults and delays at a moment of the driver's choosing --------

  /** The next request starts only after `ms` of virtual silence (past `livenessMs`: taken as hung). */
  slowNextReply(ms: number): void {
    this.slowNext = Math.max(0, ms);
  }

  /** Stop doing anything, without a word: only the liveness rule can tell. */
  hangNow(): void {
    this.hung = true;
    this.sleepingUntil = 0;
  }

  /** The next request throws (after any slow start). */
  throwOnNextRequest(): void {
    this.throwNext = true;
  }

  /** Exit now: the request in service and every later call fail with `exited`. */
  exitNow(): void {
    this.giveUp(
      new WorkerFault(this.index, this.host, 'exited', this.current?.kind ?? 'idle', 'injected fault: exit'),
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
    const waiting = this.inbox.flatMap((m) => m.fragments);
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
    return this.queued.some((k) => MOVES.has(k)) || this.handOffs.size > 0;
  }

  get busyRequests(): readonly RequestKind[] {
    return this.queued;
  }

  get isHung(): boolean {
    return this.hung;
  }

  // ---- The request loop --------------------------------------------------------------

  /** In-order rule: `body` starts when every earlier request has finished or failed. */
  private enqueue<T>(kind: RequestKind, limitMs: number, body: () => Promise<T>): Promise<T> {
    this.queued.push(kind);
    const result = this.tail.then(() => this.serve(kind, limitMs, body));
    const done = () => {
      this.queued.shift();
    };
    this.tail = result.then(done, done);
    return result;
  }

  private serve<T>(kind: RequestKind, limitMs: number, body: () => Promise<T>): Promise<T> {
    if (this.dead) return Promise.reject(this.dead);
    return new Promise<T>((resolve, reject) => {
      const service: InService = { kind, limitMs, reject, watch: null };
      this.current = service;
      this.serving = kind;
      this.lastProgressAt = this.time.now();
      this.watch(service, limitMs);
      const finish = () => {
        if (service.watch !== null) this.time.clearTimeout(service.watch);
        if (this.current === service) this.current = null;
        this.mailPosted(); // mail that came during this request is read once the worker is idle
      };
      body().then(
        (value) => {
          finish();
          if (this.dead) {
            this.observer.lateReply?.(this, kind);
            reject(this.dead);
          } else resolve(value);
        },
        (error: unknown) => {
          finish();
          if (this.dead) {
            reject(this.dead);
            return;
          }
          const message = error instanceof Error ? error.message : String(error);
          const outcome = classifyWorkerError(this.index, this.host, kind, message);
          if (!(error instanceof Injected) && outcome.name !== 'WorkerFault')
            this.observer.unexpected?.(this, error);
          if (outcome instanceof WorkerFault) this.giveUp(outcome);
          reject(outcome);
        },
      );
    });
  }

  /**
   * The liveness rule on the virtual clock: while a request is in service, a worker that
   * neither progressed nor declared a sleep for `limitMs` is given up on as hung.
   */
  private watch(service: InService, delayMs: number): void {
    service.watch = this.time.schedule(
      () => {
        service.watch = null;
        if (this.current !== service || this.dead) return;
        const now = this.time.now();
        if (now < this.sleepingUntil) {
          this.watch(service, this.sleepingUntil - now + service.limitMs);
          return;
        }
        const quiet = now - this.lastProgressAt;
        // A hair of slack: virtual times are sums of floats.
        if (quiet >= service.limitMs - 1e-9) {
          this.giveUp(
            new WorkerFault(
              this.index,
              this.host,
              'hung',
              service.kind,
              `no sign of life for ${service.limitMs} ms`,
            ),
          );
        } else this.watch(service, service.limitMs - quiet);
      },
      delayMs,
      `w${this.index}:watchdog`,
    );
  }

  private giveUp(fault: WorkerFault): void {
    if (this.dead) return;
    this.dead = fault;
    this.stopFlag = true;
    for (const o of [...this.handOffs]) {
      if (o.sender === this) o.record.senderFailed(fault);
      o.parts.forEach((p, k) => {
        if (p.to === this) o.record.receiverFailed(k, fault);
      });
      if (o.record.complete) o.settle();
    }
    const service = this.current;
    this.current = null;
    if (service !== null) {
      if (service.watch !== null) this.time.clearTimeout(service.watch);
      service.reject(fault);
    }
  }

  /** The start of every request: a slow reply's silence, then the driver's or the plan's fault. */
  private async begin(planned: FaultKind | null = null): Promise<void> {
    const slow = this.slowNext;
    this.slowNext = 0;
    // Undeclared: a worker that is merely slow says nothing while it is slow.
    await this.sleep(slow, false, false);
    if (this.dead) {
      // Given up on while silent: its answer comes too late and is ignored (it goes no further).
      this.observer.lateReply?.(this, this.serving);
      await new Promise<never>(() => {});
    }
    const kind = this.throwNext ? 'throw' : planned;
    this.throwNext = false;
    if (kind !== null) await this.fire(kind);
    // Rows already handed over are held before the request runs (in-order rule); a pass reads
    // its mail itself, once its flags are set.
    if (this.serving !== 'pass') this.readMail();
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

  /** Busy for `ms` of declared work (a copy): alive throughout. */
  private busy(ms: number): Promise<void> {
    return this.sleep(ms, true, false);
  }

  /**
   * Let `ms` of virtual time pass inside the current request. A hung or dead worker never
   * wakes (its request is failed by the watchdog or was failed already).
   */
  private sleep(ms: number, declared: boolean, wakeOnStop: boolean): Promise<void> {
    // Even a zero-length sleep is a step: requests due at the same moment interleave in a seeded order.
    return new Promise<void>((resolve) => {
      if (declared) this.sleepingUntil = this.time.now() + ms;
      const wake = () => {
        if (this.sleeper === sleeper) this.sleeper = null;
        if (declared) this.sleepingUntil = 0;
        // A hung worker never wakes; a dead one only to find out it is too late (see `begin`).
        if (this.hung || (this.dead && declared)) return;
        if (declared) this.lastProgressAt = this.time.now();
        resolve();
      };
      const sleeper: Sleeper = { handle: this.time.schedule(wake, ms, `w${this.index}:sleep`), wake };
      if (wakeOnStop) this.sleeper = sleeper;
    });
  }

  private moved(rows: number): void {
    this.rowsMoved += rows;
    this.lastProgressAt = this.time.now();
  }

  /** The thread worker's pass loop (`runPassLoop`), with the throttle as virtual sleeps. */
  private async runPass(
    params: Float64Array,
    fresh: boolean,
    chunkRows: number,
    checkStop: boolean,
  ): Promise<PassReply> {
    await this.begin();
    this.passesStarted++;
    this.inPass = true;
    try {
      return await this.passLoop(params, fresh, chunkRows, checkStop);
    } finally {
      this.inPass = false;
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
    this.readMail();
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
            if (this.readMail()) continue scan;
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
              await this.sleep((counted / rate) * 1000, true, true);
            }
            this.chunks++;
            this.lastProgressAt = this.time.now();
            const due = this.planned.chunkDone();
            if (due !== null) await this.fire(due);
          }
        }
        if (!this.readMail()) break;
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

function idsOf(fragments: readonly ExemplarColumns[]): Int32Array {
  const out = new Int32Array(fragments.reduce((s, f) => s + f.count, 0));
  let o = 0;
  for (const f of fragments) {
    out.set(f.ids, o);
    o += f.count;
  }
  return out;
}

/**
 * Columns moved as a message with a transfer list moves them: the receiver gets the buffers,
 * the sender's views are detached. Nothing is shared between two workers' stores, and a
 * caller that touches fragments it handed over sees empty arrays (as with threads).
 */
function transferColumns(fragments: readonly ExemplarColumns[]): ExemplarColumns[] {
  const buffers = [...new Set(fragments.flatMap(transferListOf))].filter(
    (b) => !(b instanceof SharedArrayBuffer),
  );
  return structuredClone(fragments as ExemplarColumns[], { transfer: buffers });
}
