/**
 * The in-process side of hand-offs: rows that go from one in-process worker straight to
 * another while both keep computing (`InProcessWorker.handOff`), as the thread worker's mail
 * works (`ThreadMail`). Orders and rows wait in a worker's mail until its next chunk
 * boundary, or the next step when it is idle.
 */
import type { ExemplarColumns } from '../exemplars/columns.ts';
import { byteSize, transferListOf, unprocessedIn } from '../exemplars/rows.ts';
import type { ExemplarStore } from '../exemplars/store.ts';
import { WorkerFault } from './faults.ts';
import { HandOffRecord } from './hand-off-record.ts';
import type { InProcessObserver } from './in-process-transport.ts';
import type { InProcessWorker } from './in-process-worker.ts';
import type { VirtualTime } from './virtual-time.ts';
import type { HandOffResult } from './worker-link.ts';

/** An order to hand rows over (`handOff`), from the call until the sender and every receiver reported. */
interface HandOffOrder {
  readonly sender: InProcessMail;
  readonly parts: readonly { readonly to: InProcessMail; readonly count: number }[];
  /** The observer's tag for the call (the rows leave as an extract, arrive as an insert). */
  readonly tag: unknown;
  readonly record: HandOffRecord;
  /** Resolve with the record, once it is complete. */
  readonly settle: () => void;
}

/** What the mail needs of its worker beyond the worker's public face. */
export interface MailHooks {
  /**
   * Called before rows leave or arrive (fault injection: a fault during a move). False when a
   * fault fired instead: the rows stay where they are.
   */
  readonly beforeMove: () => boolean;
  /** Rows copied in or out: progress outside passes. */
  readonly moved: (rows: number) => void;
  /** Give up on the worker (a fault): every later call fails with it. */
  readonly giveUp: (fault: WorkerFault) => void;
  /** No request is in service or waiting. */
  readonly idle: () => boolean;
}

/** One in-process worker's hand-off mail: orders to hand rows over, and rows handed to it. */
export class InProcessMail {
  /** Orders to hand rows over, read at the next chunk boundary, or at once when idle. */
  private readonly orders: HandOffOrder[] = [];
  /** Rows handed to this worker, taken in at its next chunk boundary, or at once when idle. */
  private readonly inbox: { order: HandOffOrder; fragments: ExemplarColumns[] }[] = [];
  /** Hand-offs this worker is part of that have not settled. */
  private readonly handOffs = new Set<HandOffOrder>();
  private passesRequested = 0;
  private passesStarted = 0;
  /** Inside a pass loop: rows taken in now are counted by it. */
  private passing = false;

  constructor(
    private readonly worker: InProcessWorker,
    private readonly store: ExemplarStore,
    private readonly time: VirtualTime,
    private readonly observer: InProcessObserver,
    private readonly hooks: MailHooks,
  ) {}

  /** Inside a pass loop: rows taken in now are counted by it. */
  get inPass(): boolean {
    return this.passing;
  }

  /** Hand-offs this worker is part of have not settled. */
  get inFlight(): boolean {
    return this.handOffs.size > 0;
  }

  /** Rows handed over and not yet taken in. */
  waiting(): ExemplarColumns[] {
    return this.inbox.flatMap((m) => m.fragments);
  }

  /** A pass request was made: mail waits for it if it comes while idle (see `read`). */
  passRequested(): void {
    this.passesRequested++;
  }

  /** A pass loop starts: rows taken in until `passEnded` are counted by it. */
  passStarted(): void {
    this.passesStarted++;
    this.passing = true;
  }

  passEnded(): void {
    this.passing = false;
  }

  /**
   * Send an order to hand rows over to each part's receiver, whose reports are awaited for
   * at most `ms`; the worker has checked the receivers can take them.
   */
  handOff(
    parts: readonly { readonly to: InProcessMail; readonly count: number }[],
    ms: number,
  ): Promise<HandOffResult> {
    const tag = this.observer.request?.(this.worker, 'extract', null);
    const counts = parts.map((p) => p.count);
    const record = new HandOffRecord(counts);
    const dead = this.worker.fault;
    if (dead) {
      record.senderFailed(dead);
      return Promise.resolve(record.result(this.time.now()));
    }
    const receivers = parts.map((p) => p.to);
    return new Promise<HandOffResult>((resolve) => {
      let settled = false;
      const order: HandOffOrder = {
        sender: this,
        parts,
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
              for (const m of [this, ...receivers]) m.handOffs.delete(order);
            },
            0,
            `w${this.worker.index}:handOff-done`,
          );
        },
      };
      // As for threads: whoever has not reported by then is taken for hung.
      const limit = this.time.schedule(
        () => {
          const late = record.handed === null ? [this] : receivers.filter((_, k) => record.waitsFor(k));
          for (const m of late) {
            const w = m.worker;
            m.hooks.giveUp(new WorkerFault(w.index, w.host, 'hung', 'handOff', `no report for ${ms} ms`));
          }
        },
        ms,
        `w${this.worker.index}:handOff-limit`,
      );
      for (const m of [this, ...receivers]) m.handOffs.add(order);
      this.orders.push(order);
      this.posted();
    });
  }

  /** The worker was given up on: the hand-offs it is part of learn of it. */
  workerFailed(fault: WorkerFault): void {
    for (const o of [...this.handOffs]) {
      if (o.sender === this) o.record.senderFailed(fault);
      o.parts.forEach((p, k) => {
        if (p.to === this) o.record.receiverFailed(k, fault);
      });
      if (o.record.complete) o.settle();
    }
  }

  /** Mail came: an idle worker reads it at the next step (a thread's event loop). */
  posted(): void {
    if (this.orders.length + this.inbox.length === 0) return;
    this.time.schedule(
      () => {
        if (this.hooks.idle()) this.read();
      },
      0,
      `w${this.worker.index}:mail`,
    );
  }

  /** Carry out orders and take rows in. True when the store changed. */
  read(): boolean {
    if (!this.worker.alive || this.worker.isHung) return false;
    // Idle with a pass on its way: the flags are the last pass's until it starts.
    if (!this.passing && this.passesRequested > this.passesStarted) return false;
    let changed = false;
    for (let o = this.orders.shift(); o !== undefined; o = this.orders.shift()) {
      if (this.carryOut(o)) changed = true;
      if (!this.worker.alive || this.worker.isHung) return changed;
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
          `hand-off refused by worker ${this.worker.index} (${this.worker.host}): hand-off of ${total} exemplars from ${this.store.count} held`,
        ),
      );
      this.report(o);
      return false;
    }
    if (!this.hooks.beforeMove()) return false;
    let bytes = 0;
    for (const p of o.parts) {
      const fragments = transferColumns(this.store.take(p.count));
      for (const f of fragments) bytes += byteSize(f);
      this.observer.removed?.(this.worker, 'extract', idsOf(fragments), fragments, o.tag);
      p.to.inbox.push({ order: o, fragments });
      p.to.posted();
    }
    this.hooks.moved(total);
    o.record.handed = { held: this.store.count, bytes, at: this.time.now() };
    this.report(o);
    return true;
  }

  /** False when a fault fired instead (the rows stay where they are, with this worker). */
  private takeIn(o: HandOffOrder, fragments: ExemplarColumns[]): boolean {
    if (!this.hooks.beforeMove()) return false;
    this.observer.request?.(this.worker, 'insert', fragments);
    let rows = 0;
    let unprocessed = 0;
    for (const f of fragments) {
      this.store.add(f);
      rows += f.count;
      unprocessed += unprocessedIn(f);
    }
    this.hooks.moved(rows);
    const k = o.parts.findIndex((p) => p.to === this);
    o.record.tookIn(k, this.store.count, this.time.now(), this.passing, unprocessed);
    this.report(o);
    return true;
  }

  /** The report reaches the coordinator at the next step, as a thread's message does. */
  private report(o: HandOffOrder): void {
    this.time.schedule(
      () => {
        if (o.record.complete) o.settle();
      },
      0,
      `w${this.worker.index}:handOff-report`,
    );
  }
}

export function idsOf(fragments: readonly ExemplarColumns[]): Int32Array {
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
export function transferColumns(fragments: readonly ExemplarColumns[]): ExemplarColumns[] {
  const buffers = [...new Set(fragments.flatMap(transferListOf))];
  return structuredClone(fragments as ExemplarColumns[], { transfer: buffers });
}
