import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { ExemplarColumns } from '../exemplars/columns.ts';
import { byteSize, transferListOf } from '../exemplars/rows.ts';
import { moduleBeside } from '../util/module-url.ts';
import { monotonicMs } from '../util/monotonic.ts';
import { WorkerControl } from './control.ts';
import { classifyWorkerError, WorkerFault } from './faults.ts';
import { HandOffRecord } from './hand-off-record.ts';
import type { ExtractReply, MailFromThread, MailToThread, PassReply, WorkerRequest } from './messages.ts';
import type { HandOffResult, WorkerLink, WorkerSpec, WorkerTransport } from './worker-link.ts';

// From the sources, a plain-JS entry registers tsx in the thread first; compiled, the thread
// loads the worker module itself.
const workerFile = import.meta.url.endsWith('.ts')
  ? new URL('./worker-entry.mjs', import.meta.url).href
  : moduleBeside(import.meta.url, './worker-thread');

/** Starting a thread loads tsx and the kernel: allow for a slow, loaded machine. */
const START_LIMIT_MS = 30_000;
/** The slowest copy a healthy worker makes, bytes per ms (20 MB/s): sets move time limits. */
const SLOWEST_COPY_BYTES_PER_MS = 20_000;

/** A hand-off in flight (`ThreadWorker.handOff`), until the sender and every receiver reported. */
interface PendingHandOff {
  readonly sender: ThreadWorker;
  readonly receivers: readonly ThreadWorker[];
  readonly record: HandOffRecord;
  /** Resolve with the record, once it is complete. */
  readonly settle: () => void;
}

/** Hand-offs in flight by id: a receiver's report reaches its hand-off through here. */
const handOffs = new Map<number, PendingHandOff>();
let nextHandOff = 1;

/** Worker threads on this machine. */
export const threadTransport: WorkerTransport = {
  name: 'threads',
  start: (spec) => ThreadWorker.start(spec),
};

/**
 * A worker that is a thread on this machine: a one-thread piscina pool that is never
 * recycled (it holds state), with atomics disabled so the thread is not parked in
 * Atomics.wait between tasks. One thread and piscina's FIFO queue give the in-order rule.
 * Stop flag, rate limit and progress live in a small SharedArrayBuffer of its own.
 */
export class ThreadWorker implements WorkerLink {
  private readonly pool: Piscina;
  private readonly control = new WorkerControl();
  /** Set once the worker is given up on; every later call fails with it at once. */
  private dead: WorkerFault | null = null;
  private idleFaultListener: ((fault: WorkerFault) => void) | null = null;
  /** Bytes per exemplar, learnt from inserts: sets the time limit of an extract. */
  private rowBytes = 0;
  /** Where pass parameters are handed over (see `sharedParams`). */
  private paramsView: Float64Array | null = null;
  /** A pass request is in flight: its parameters must not be rewritten. */
  private passing = false;
  /** Mail to and from the thread outside the request queue (hand-offs). */
  private readonly mailPort: MessagePort;
  private readonly threadMailPort: MessagePort;
  /** Workers this thread has a direct channel to. */
  private readonly outboxes = new Set<number>();

  private constructor(
    readonly index: number,
    readonly host: string,
    private readonly livenessMs: number,
  ) {
    this.pool = new Piscina({
      filename: workerFile,
      minThreads: 1,
      maxThreads: 1,
      idleTimeout: Number.POSITIVE_INFINITY,
      atomics: 'disabled',
    });
    const channel = new MessageChannel();
    this.mailPort = channel.port1;
    this.threadMailPort = channel.port2;
    this.mailPort.on('message', (m: MailFromThread) => this.onMail(m));
    this.mailPort.unref();
    // Destroying the pool rejects the tasks it knows, but a reply already on its way from the
    // thread then arrives for no task, and piscina reports that as an 'error' event, which
    // would be an uncaught exception without a listener. Once the worker is given up on,
    // that is expected and ignored; before, an error outside any task is a fault.
    this.pool.on('error', (error: unknown) => {
      if (this.dead) return;
      const message = error instanceof Error ? error.message : String(error);
      const fault = new WorkerFault(this.index, this.host, 'threw', 'idle', message);
      this.giveUp(fault);
      this.idleFaultListener?.(fault);
    });
  }

  onIdleFault(listener: (fault: WorkerFault) => void): void {
    this.idleFaultListener = listener;
  }

  static async start(spec: WorkerSpec): Promise<ThreadWorker> {
    const w = new ThreadWorker(spec.index, spec.host, spec.livenessMs);
    try {
      await w.run(
        {
          kind: 'init',
          worker: spec.index,
          host: spec.host,
          kernelModule: spec.kernelModule,
          kernelConfig: spec.kernelConfig,
          control: w.control.buffer,
          mailPort: w.threadMailPort,
          fault: spec.fault,
        },
        // piscina's transfer list is typed for buffers; a MessagePort is transferable too.
        [w.threadMailPort as unknown as ArrayBuffer],
        START_LIMIT_MS,
      );
    } catch (error) {
      await w.close();
      throw error;
    }
    return w;
  }

  get alive(): boolean {
    return this.dead === null;
  }

  get fault(): WorkerFault | null {
    return this.dead;
  }

  /**
   * One request, watched: a rejection is a fault (the thread threw, or exited — piscina would
   * quietly replace an exited thread with a fresh, empty one, which must not pass for this
   * worker, so the pool is destroyed); no progress and no declared sleep for `limitMs`
   * means the worker hung, and its thread is terminated.
   */
  private run<T>(
    request: WorkerRequest,
    transferList?: ArrayBuffer[],
    limitMs = this.livenessMs,
  ): Promise<T> {
    if (this.dead) return Promise.reject(this.dead);
    const task = this.pool.run(request, transferList ? { transferList } : undefined) as Promise<T>;
    return new Promise<T>((resolve, reject) => {
      let seen = this.control.progress();
      let seenAt = performance.now();
      const fail = (fault: WorkerFault) => {
        clearInterval(watch);
        this.giveUp(fault);
        reject(fault);
      };
      const watch = setInterval(
        () => {
          const now = this.control.progress();
          if (now !== seen || Date.now() < this.control.sleepingUntil()) {
            seen = now;
            seenAt = performance.now();
          } else if (performance.now() - seenAt > limitMs) {
            fail(
              new WorkerFault(
                this.index,
                this.host,
                'hung',
                request.kind,
                `no sign of life for ${limitMs} ms`,
              ),
            );
          }
        },
        Math.max(10, Math.min(250, limitMs / 4)),
      );
      task.then(
        (value) => {
          clearInterval(watch);
          if (this.dead) reject(this.dead);
          else resolve(value);
        },
        (error: unknown) => {
          // A clone error from the thread arrives as a plain object with a message.
          const message = describeThreadError(error);
          const exited = /exit/i.test(message) && !/injected fault: throw/.test(message);
          const outcome = classifyWorkerError(
            this.index,
            this.host,
            request.kind,
            message,
            exited ? 'exited' : 'threw',
          );
          if (outcome instanceof WorkerFault) {
            fail(outcome);
            return;
          }
          // The worker is sound and still holds its data: the request was wrong.
          clearInterval(watch);
          reject(outcome);
        },
      );
    });
  }

  /** The liveness limit plus the time the slowest healthy copy of `bytes` takes. */
  private limitFor(bytes: number): number {
    return this.livenessMs + bytes / SLOWEST_COPY_BYTES_PER_MS;
  }

  private giveUp(fault: WorkerFault): void {
    if (this.dead) return;
    this.dead = fault;
    this.control.requestStop();
    this.pool.destroy().catch(() => {});
    this.abandonHandOffs(fault);
  }

  /** Every hand-off this worker still owes a report to fails with its fault. */
  private abandonHandOffs(fault: WorkerFault): void {
    for (const h of [...handOffs.values()]) {
      if (h.sender === this) h.record.senderFailed(fault);
      h.receivers.forEach((r, k) => {
        if (r === this) h.record.receiverFailed(k, fault);
      });
      if (h.record.complete) h.settle();
    }
  }

  private postMail(message: MailToThread, transfer: MessagePort[] = []): void {
    this.mailPort.postMessage(message, transfer);
    this.control.postedMail();
  }

  /** Only to another thread of this process: a worker on an agent takes rows by a move. */
  canHandOffTo(receiver: WorkerLink): receiver is ThreadWorker {
    return receiver instanceof ThreadWorker && receiver !== this;
  }

  /**
   * See `WorkerLink.handOff`. The order and, the first time, a channel to each receiver go
   * to the threads as mail: the sender reads it at its next chunk boundary, posts the rows
   * (transferred, zero copy) to each receiver and reports; each receiver takes them in at its
   * own next chunk boundary and reports. The coordinator relays nothing.
   */
  handOff(
    parts: readonly { readonly count: number; readonly to: WorkerLink }[],
  ): Promise<HandOffResult> | null {
    const receivers = parts.map((p) => p.to);
    if (!receivers.every((r): r is ThreadWorker => this.canHandOffTo(r) && r.alive)) return null;
    const counts = parts.map((p) => p.count);
    const record = new HandOffRecord(counts);
    if (this.dead) {
      record.senderFailed(this.dead);
      return Promise.resolve(record.result(monotonicMs()));
    }
    this.prepareHandOffs(receivers);
    const id = nextHandOff++;
    const ms = this.limitFor(counts.reduce((a, n) => a + n, 0) * this.rowBytes);
    return new Promise<HandOffResult>((resolve) => {
      const limit = setTimeout(() => {
        // Whoever has not reported is taken for hung, as a request silent that long would be.
        const late = record.handed === null ? [this] : receivers.filter((_, k) => record.waitsFor(k));
        for (const w of late) {
          w.giveUp(new WorkerFault(w.index, w.host, 'hung', 'handOff', `no report for ${ms} ms`));
        }
      }, ms);
      handOffs.set(id, {
        sender: this,
        receivers,
        record,
        settle: () => {
          if (!handOffs.delete(id)) return;
          clearTimeout(limit);
          resolve(record.result(monotonicMs()));
        },
      });
      this.postMail({ kind: 'handOff', id, parts: parts.map((p) => ({ to: p.to.index, count: p.count })) });
    });
  }

  prepareHandOffs(peers: readonly WorkerLink[]): void {
    for (const r of peers) {
      if (!(r instanceof ThreadWorker) || r === this || this.outboxes.has(r.index) || this.dead || r.dead)
        continue;
      const { port1, port2 } = new MessageChannel();
      // The receiver's end first: by the time rows can come, it has been told where.
      r.postMail({ kind: 'inbox', from: this.index, port: port2 }, [port2]);
      this.postMail({ kind: 'outbox', to: r.index, port: port1, mail: r.control.buffer }, [port1]);
      this.outboxes.add(r.index);
      // A hand-off of no rows runs every step once, so the first real one finds its code
      // compiled in both threads (on a fresh thread that was measured at ~1 ms of a 2.5 ms hand-off).
      void this.handOff([{ count: 0, to: r }]);
    }
  }

  /** A report from the thread: a hand-off it made, or rows it took in. */
  private onMail(m: MailFromThread): void {
    const h = handOffs.get(m.id);
    if (!h || this.dead) return;
    switch (m.kind) {
      case 'handOffRefused':
        // The coordinator asked for rows the worker does not hold: its counts are wrong, not the worker.
        h.record.senderFailed(
          new Error(`hand-off refused by worker ${this.index} (${this.host}): ${m.message}`),
        );
        break;
      case 'handedOff':
        h.record.handed = { held: m.held, bytes: m.bytes, at: m.at };
        break;
      case 'absorbed': {
        const k = h.receivers.indexOf(this);
        if (k < 0) return;
        h.record.tookIn(k, m.held, m.at, m.inPass, m.unprocessed);
        break;
      }
    }
    if (h.record.complete) h.settle();
  }

  async insert(fragments: readonly ExemplarColumns[]): Promise<number> {
    const bytes = fragments.reduce((s, f) => s + byteSize(f), 0);
    const rows = fragments.reduce((s, f) => s + f.count, 0);
    if (rows > 0) this.rowBytes = bytes / rows;
    const reply = await this.run<{ held: number }>(
      { kind: 'insert', fragments },
      // Columns received over a network may share one buffer: list each buffer once.
      [...new Set(fragments.flatMap(transferListOf))],
      this.limitFor(bytes),
    );
    return reply.held;
  }

  extract(counts: readonly number[]): Promise<ExtractReply> {
    const rows = counts.reduce((s, n) => s + n, 0);
    return this.run({ kind: 'extract', counts }, undefined, this.limitFor(rows * this.rowBytes));
  }

  async pass(
    params: Float64Array,
    fresh: boolean,
    chunkRows: number,
    checkStop: boolean,
  ): Promise<PassReply> {
    // Cleared here, before the request is posted, so a stop made after this call is never lost.
    this.control.clearStop();
    this.control.passRequested();
    const shared = this.sharedParams(params);
    this.passing = true;
    try {
      return await this.run({ kind: 'pass', fresh, params: shared, chunkRows, checkStop });
    } finally {
      this.passing = false;
    }
  }

  /**
   * The pass's parameters in this worker's shared memory, copied in, rather than cloned into
   * the request: a clone lands in fresh memory on the thread, and on this VM first-touching
   * it cost ~1 ms a pass for Opt's 200 KB of weights (~4 ms for 800 KB). The thread reads
   * them in place; they are rewritten only between passes (one request at a time), and a
   * pass requested while another is in flight is sent its own copy.
   */
  private sharedParams(params: Float64Array): Float64Array {
    if (this.passing) return params;
    if (this.paramsView?.length !== params.length) {
      this.paramsView = new Float64Array(new SharedArrayBuffer(params.byteLength));
    }
    this.paramsView.set(params);
    return this.paramsView;
  }

  async calibrate(params: Float64Array, ms: number): Promise<number> {
    return (
      await this.run<{ rate: number }>(
        { kind: 'calibrate', params, ms },
        undefined,
        this.livenessMs + 1.2 * ms + 50,
      )
    ).rate;
  }

  drop(): Promise<{ ids: Int32Array; processed: Uint8Array }> {
    return this.run({ kind: 'drop' });
  }

  async collectFreed(): Promise<boolean> {
    return (await this.run<{ collected: boolean }>({ kind: 'collect' })).collected;
  }

  async ids(): Promise<Int32Array> {
    return (await this.run<{ ids: Int32Array }>({ kind: 'ids' })).ids;
  }

  stop(): void {
    this.control.requestStop();
  }

  setRateLimit(exemplarsPerSecond: number): void {
    this.control.setRateLimit(exemplarsPerSecond);
  }

  /** The emulated rate now in force (0: unthrottled). */
  rateLimit(): number {
    return this.control.rateLimit();
  }

  chunksDone(): number {
    return this.control.chunksDone();
  }

  async close(): Promise<void> {
    if (this.dead) return;
    this.dead = new WorkerFault(this.index, this.host, 'exited', 'close', 'closed');
    this.control.requestStop();
    this.abandonHandOffs(this.dead);
    this.mailPort.close();
    await this.pool.destroy();
  }
}

/** A thread's error in words: clone errors arrive as plain objects, some with only a code. */
function describeThreadError(error: unknown): string {
  if (error instanceof Error) return error.message;
  const e = error as { message?: unknown; code?: unknown } | null;
  if (typeof e?.message === 'string') return e.message;
  if (typeof e?.code === 'string') return e.code;
  return typeof error === 'object' ? JSON.stringify(error) : String(error);
}
