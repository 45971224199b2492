/**
 * The thread side of hand-offs: rows that go from one worker thread straight to another
 * while both keep computing (`ThreadWorker.handOff`). Nothing here waits for the event
 * loop in the middle of a pass: the pass loop calls `check` at each chunk boundary, which
 * costs one `Atomics.load` unless mail was posted, and then reads the ports synchronously
 * (`receiveMessageOnPort`). When the thread is idle, the same mail arrives as events.
 */
import { type MessagePort, receiveMessageOnPort } from 'node:worker_threads';
import type { ExemplarColumns } from '../exemplars/columns.ts';
import { byteSize, transferListOf, unprocessedIn } from '../exemplars/rows.ts';
import type { ExemplarStore } from '../exemplars/store.ts';
import { monotonicMs } from '../util/monotonic.ts';
import { WorkerControl } from './control.ts';
import type { HandedRows, MailFromThread, MailToThread } from './messages.ts';

interface Outbox {
  readonly port: MessagePort;
  readonly control: WorkerControl;
}

export class ThreadMail {
  /** The mail counter as last read. */
  private seen = -1;
  private readonly outboxes = new Map<number, Outbox>();
  private readonly inboxes: MessagePort[] = [];
  /** A pass loop is running: rows taken in now are counted by it. */
  private passing = false;
  /** Pass requests this thread has started (see `WorkerControl.passRequested`). */
  private passesStarted = 0;
  /**
   * Mail that came while idle with a pass request on its way: processed flags are those of
   * the last pass until that one starts (and clears them), so rows may neither leave nor
   * arrive before it does.
   */
  private held: (() => boolean)[] = [];

  constructor(
    private readonly port: MessagePort,
    private readonly store: ExemplarStore,
    private readonly control: WorkerControl,
    /** Called before rows leave or arrive (fault injection: a fault during a move). */
    private readonly beforeMove: () => void,
  ) {
    port.on('message', (m: MailToThread) => this.handle(m));
  }

  /** At a chunk boundary: read any mail. True when the store changed (rows left or arrived). */
  check(): boolean {
    const m = this.control.mail();
    if (m === this.seen) return false;
    this.seen = m;
    return this.read();
  }

  /** Read every port now (the start of each request: rows already posted are held before it runs). */
  read(): boolean {
    let changed = false;
    for (let m = receiveMessageOnPort(this.port); m; m = receiveMessageOnPort(this.port)) {
      if (this.handle(m.message as MailToThread)) changed = true;
    }
    for (const inbox of this.inboxes) {
      for (let m = receiveMessageOnPort(inbox); m; m = receiveMessageOnPort(inbox)) {
        this.absorb(m.message as HandedRows);
        changed = true;
      }
    }
    return changed;
  }

  /** Run `body` as a pass: rows that arrive meanwhile are reported as counted by it. */
  duringPass<T>(body: () => T): T {
    this.passing = true;
    this.passesStarted++;
    try {
      return body();
    } finally {
      this.passing = false;
    }
  }

  /** In a pass, once its flags are set (cleared if fresh): read the mail, held mail first. */
  startPass(): void {
    const held = this.held;
    this.held = [];
    for (const run of held) run();
    this.read();
  }

  /** Idle, but a pass request is on its way: mail waits for it. */
  private mustWait(): boolean {
    return !this.passing && this.control.passesRequested() > this.passesStarted;
  }

  private handle(m: MailToThread): boolean {
    switch (m.kind) {
      case 'outbox':
        this.outboxes.set(m.to, { port: m.port, control: new WorkerControl(m.mail) });
        return false;
      case 'inbox':
        this.inboxes.push(m.port);
        m.port.on('message', (rows: HandedRows) => this.absorb(rows));
        return false;
      case 'handOff':
        if (this.mustWait()) {
          this.held.push(() => this.handOff(m.id, m.parts));
          return false;
        }
        return this.handOff(m.id, m.parts);
    }
  }

  private handOff(id: number, parts: readonly { to: number; count: number }[]): boolean {
    const total = parts.reduce((s, p) => s + p.count, 0);
    const missing = parts.find((p) => !this.outboxes.has(p.to));
    if (total > this.store.count || missing !== undefined) {
      this.reply({
        kind: 'handOffRefused',
        id,
        message: missing
          ? `no channel to worker ${missing.to}`
          : `hand-off of ${total} exemplars from ${this.store.count} held`,
      });
      return false;
    }
    // A hand-off of no rows (the start-up rehearsal, thread-worker.ts) is not a move.
    if (total > 0) this.beforeMove();
    let bytes = 0;
    const rows = parts.map((p) => {
      const fragments: ExemplarColumns[] = this.store.take(p.count);
      this.control.rowsMoved(p.count);
      for (const f of fragments) bytes += byteSize(f);
      const out = this.outboxes.get(p.to)!;
      const message: HandedRows = { id, fragments };
      out.port.postMessage(message, [...new Set(fragments.flatMap(transferListOf))]);
      // Posted first, then announced: a receiver that sees the mail finds the rows there.
      out.control.postedMail();
      return p.count;
    });
    this.reply({ kind: 'handedOff', id, held: this.store.count, rows, bytes, at: monotonicMs() });
    return true;
  }

  private absorb(m: HandedRows): void {
    if (this.mustWait()) {
      this.held.push(() => {
        this.absorb(m);
        return true;
      });
      return;
    }
    if (m.fragments.some((f) => f.count > 0)) this.beforeMove();
    let rows = 0;
    let unprocessed = 0;
    for (const f of m.fragments) {
      this.store.add(f);
      rows += f.count;
      unprocessed += unprocessedIn(f);
    }
    this.control.rowsMoved(rows);
    this.reply({
      kind: 'absorbed',
      id: m.id,
      rows,
      unprocessed,
      inPass: this.passing,
      held: this.store.count,
      at: monotonicMs(),
    });
  }

  private reply(m: MailFromThread): void {
    this.port.postMessage(m);
  }
}
