/**
 * One worker an agent hosts for the job it serves: a thread on the agent's machine (the
 * thread transport, with its own liveness watch and fault classification), fed by that
 * worker's connection. Requests are served one at a time, in the order they arrive.
 */

import type { ExemplarColumns } from '../exemplars/columns.ts';
import { byteSize, exemplarBytes } from '../exemplars/rows.ts';
import type { Body, Message, MessageChannel } from '../net/message-channel.ts';
import { bytesOf, exemplarBodies, exemplarsFrom, float64From } from '../net/payloads.ts';
import type { CallFailure } from '../net/protocol.ts';
import { CoordinatorBug, WorkerFault } from '../runtime/faults.ts';
import type { ExtractReply } from '../runtime/messages.ts';
import type { WorkerLink } from '../runtime/worker-link.ts';
import { type PeerAccess, receiveDirect, sendDirect } from './direct-moves.ts';
import { RowsMirror } from './rows-mirror.ts';

/**
 * The thread's collection of rows that left it (a full collection, 14–20 ms of a core here)
 * waits this long after the reply that took them: the job resumes meanwhile. Run at once,
 * on 2 cores it competed with the receiver's thread taking the rows in and with the
 * coordinator resuming: after 6 of 11 moves of 20.8 MB between agents the job computed again
 * only 2.9–6.7 ms after the rows were in, against 0.4–0.6 ms otherwise (bench tcp, 11:07 UTC,
 * `hop2Ms`); interleaved A/B, 32 moves each, fresh agent pairs: migration 12.96 ms at once,
 * 10.90 ms after 100 ms.
 */
const COLLECT_DELAY_MS = 100;

export class WorkerSlot {
  /** The newest pass request begun, and the newest pass a stop was asked for. */
  private passBegun = -1;
  private stopFor = -1;
  private rate = 0;
  /** Exemplar bytes held (for the agent's memory cap). */
  bytesHeld = 0;
  private rowBytes = 0;
  /** Exemplars the thread holds, as its last reply said. */
  private heldRows = 0;
  /** Rows sent directly whose receiver has not confirmed them, by ticket: kept until settled. */
  private readonly unconfirmed = new Map<string, ExemplarColumns[]>();
  private loaded = false;
  /** Rows left the thread in the request being answered: it frees their memory once the reply is out. */
  private collectDue = false;
  /** A move's rows going into the thread after its reply went out: the next request waits for it. */
  private inserting: Promise<void> | null = null;
  /**
   * Work that starts once the reply to the request being answered is written: a move's rows
   * reach the coordinator as an answer before they are confirmed to their sender and handed
   * to the thread (both on this thread's time, and the job computes only once it has heard).
   */
  private afterReply: (() => void) | null = null;
  /** Why that insert failed: the next request fails with it. */
  private insertFailure: { readonly error: unknown } | null = null;
  /** The rows the thread holds, as seen from this thread (rows-mirror.ts). */
  private readonly mirror = new RowsMirror();

  constructor(
    readonly slot: number,
    private readonly link: WorkerLink,
    private readonly memory: SlotMemory,
    private readonly peers: PeerAccess,
  ) {}

  get chunksDone(): number {
    return this.link.chunksDone();
  }

  /** A stop for pass `seq`: applied now if that pass has begun, else when it begins. */
  stop(seq: number): void {
    this.stopFor = Math.max(this.stopFor, seq);
    // Only that pass: a stop that arrives late must not interrupt the next one.
    if (this.passBegun === seq) this.link.stop();
  }

  setRateLimit(rate: number): void {
    this.rate = rate;
    this.link.setRateLimit(rate);
  }

  /** Serve `channel` until it closes. */
  async serve(channel: MessageChannel): Promise<void> {
    for (;;) {
      let m: Message;
      try {
        m = await channel.next();
      } catch {
        return;
      }
      let waitedForRowsMs = 0;
      if (this.inserting) {
        const since = performance.now();
        await this.inserting;
        this.inserting = null;
        waitedForRowsMs = performance.now() - since;
      }
      let reply: { header: Record<string, unknown>; bodies: Body[] };
      try {
        reply = await this.handle(m);
      } catch (error) {
        reply = { header: { type: 'fail', failure: describeFailure(error) }, bodies: [] };
      }
      // The coordinator adds it to the move's migration time: the job computes only now.
      if (waitedForRowsMs > 0) reply.header.waitedForRowsMs = waitedForRowsMs;
      const sent = channel.send(reply.header, reply.bodies);
      // The reply is written: now what it need not wait for (see `afterReply`).
      const after = this.afterReply;
      this.afterReply = null;
      after?.();
      try {
        await sent;
      } catch {
        return;
      }
      if (this.collectDue) {
        // Only once the reply (an extract's rows, for one) is out, and a while after it (see
        // COLLECT_DELAY_MS): before, the thread's collection would take a core from the move.
        this.collectDue = false;
        this.collectFreed();
      }
    }
  }

  close(): Promise<void> {
    return this.link.close();
  }

  private async handle(m: Message): Promise<{ header: Record<string, unknown>; bodies: Body[] }> {
    if (this.insertFailure) {
      const { error } = this.insertFailure;
      this.insertFailure = null;
      throw error;
    }
    const h = m.header;
    switch (h.op) {
      case 'insert': {
        // Nothing to insert (a host whose share is 0): nothing to check either.
        if (m.bodies.length === 0) return { header: { type: 'ok', held: this.heldRows }, bodies: [] };
        const dim = h.dim;
        if (!(Number.isInteger(dim) && (dim as number) > 0)) throw refused('insert without a feature count');
        const fragments = await exemplarsFrom(m.bodies, dim as number);
        // The cap counts exemplar bytes (as the coordinator's partitioner does), not wire bytes.
        this.rowBytes = exemplarBytes(dim as number);
        const rows = fragments.reduce((s, f) => s + f.count, 0);
        const why = this.memory.admit(this.slot, rows * this.rowBytes);
        if (why) throw refused(why);
        const held = await this.link.insert(fragments);
        this.mirror.added(fragments);
        this.holds(held);
        return { header: { type: 'ok', held }, bodies: [] };
      }
      case 'extract': {
        const counts = h.counts;
        if (!Array.isArray(counts) || !counts.every((n) => Number.isInteger(n) && n >= 0)) {
          throw refused('extract with bad counts');
        }
        this.mirror.lost();
        const reply = await this.link.extract(counts as number[]);
        this.holds(reply.held);
        this.collectDue = true;
        const bodies = (await Promise.all(reply.parts.map((part) => exemplarBodies(part)))).flat();
        return { header: { type: 'ok', held: reply.held, parts: reply.parts.map((p) => p.length) }, bodies };
      }
      case 'pass': {
        // The first pass begins once the coordinator has loaded every initial share.
        if (!this.loaded) {
          this.loaded = true;
          this.memory.firstPass(this.bytesHeld);
        }
        const seq = Number(h.seq);
        const params = float64From(one(m));
        const pending = this.link.pass(params, h.fresh === true, Number(h.chunkRows), h.checkStop === true);
        this.passBegun = seq;
        // A stop that overtook this request on the job connection still stops it.
        if (this.stopFor >= seq) this.link.stop();
        const r = await pending;
        this.holds(r.held);
        return {
          header: {
            type: 'ok',
            processed: r.processed,
            interrupted: r.interrupted,
            elapsedMs: r.elapsedMs,
            held: r.held,
            remaining: r.remaining,
          },
          bodies: [bytesOf(r.acc)],
        };
      }
      case 'calibrate': {
        const rate = await this.link.calibrate(float64From(one(m)), Number(h.ms));
        return { header: { type: 'ok', rate }, bodies: [] };
      }
      case 'ids': {
        const ids = await this.link.ids();
        return { header: { type: 'ok' }, bodies: [bytesOf(ids)] };
      }
      case 'drop': {
        const r = await this.link.drop();
        this.mirror.emptied();
        this.holds(0);
        this.collectDue = true;
        return { header: { type: 'ok' }, bodies: [bytesOf(r.ids), r.processed] };
      }
      case 'receive': {
        this.memory.moveBegins();
        const dim = Number(h.dim);
        const rows = Number(h.rows);
        this.rowBytes = exemplarBytes(dim);
        const outcome = await receiveDirect(this.peers, String(h.ticket), rows, dim, (rowsSoFar) =>
          this.memory.admit(this.slot, rowsSoFar * this.rowBytes),
        );
        if (outcome.fragments === null) {
          return {
            header: { type: 'ok', held: this.heldRows, received: 0, reason: outcome.reason },
            bodies: [],
          };
        }
        // The rows are in this agent's memory. The coordinator hears of them first (the job
        // computes again only then); once that answer is written, the sender may let go of
        // them and the thread takes them. Its next request to this worker waits in `serve`
        // until the thread has them (the in-order rule); an insert that fails fails that
        // request, and a worker that fails taking the rows is a fault like one that fails
        // holding them: they are reloaded by id.
        const held = this.heldRows + rows;
        this.holds(held);
        const fragments = outcome.fragments;
        this.afterReply = () => {
          outcome.confirm();
          this.mirror.added(fragments);
          this.inserting = this.link.insert(fragments).then(
            (now) => this.holds(now),
            (error: unknown) => {
              this.insertFailure = { error };
            },
          );
        };
        // Exemplar bytes, as the sender counts them (the wire adds the IPC metadata).
        const bytes = outcome.fragments.reduce((n, f) => n + byteSize(f), 0);
        return { header: { type: 'ok', held, received: rows, bytes }, bodies: [] };
      }
      case 'send': {
        this.memory.moveBegins();
        const parts = h.parts;
        if (!Array.isArray(parts) || !parts.every(isPart)) throw refused('send with malformed parts');
        const counts = parts.map((p) => p.count);
        // A vacate sends all of the worker's rows: they stream from the mirror at once, and
        // the thread gives them up afterwards. Otherwise the thread gives them up first, and
        // the receivers are told what comes meanwhile.
        const mirrored = this.mirror.takeAll(counts, this.heldRows);
        if (mirrored === null) this.mirror.lost();
        const extracted: Promise<ExtractReply> =
          mirrored === null ? this.link.extract(counts) : Promise.resolve({ parts: mirrored, held: 0 });
        const sending = sendDirect(
          this.peers,
          parts,
          extracted.then((r) => r.parts),
        );
        // A failed extract fails the request at once; each connection then closes with no rows.
        const reply = await extracted;
        this.holds(reply.held);
        // The thread gave up everything: the mirror, empty too, agrees with it again.
        if (mirrored === null && reply.held === 0) this.mirror.emptied();
        const results = await sending;
        // Only now, so that it does not take a core from the stream. A thread that fails here
        // fails this request, and the coordinator learns of the fault from this reply: what
        // its receivers confirmed is theirs, and a part one did not take (kept below when
        // the thread is sound) is reloaded from the source like any failed worker's rows.
        if (mirrored !== null) await this.link.extract([counts.reduce((a, n) => a + n, 0)]);
        let bytes = 0;
        results.forEach((r, k) => {
          bytes += r.bytes;
          if (!r.delivered) this.unconfirmed.set(parts[k].ticket, reply.parts[k] as ExemplarColumns[]);
          // The receiver confirmed these rows (so every byte was written): the buffers are free.
          else this.memory.released(reply.parts[k]);
        });
        this.collectDue = true;
        return {
          header: {
            type: 'ok',
            held: reply.held,
            bytes,
            parts: results.map((r) => ({ delivered: r.delivered, reason: r.reason })),
          },
          bodies: [],
        };
      }
      case 'settle': {
        // The coordinator knows from the receiver whether it took the rows: keep them only if not.
        const ticket = String(h.ticket);
        const rows = this.unconfirmed.get(ticket);
        this.unconfirmed.delete(ticket);
        if (rows && h.keep === true) {
          this.holds(await this.link.insert(rows));
          this.mirror.added(rows);
        }
        return { header: { type: 'ok', held: this.heldRows }, bodies: [] };
      }
      default:
        throw refused(`unknown request ${JSON.stringify(h.op)}`);
    }
  }

  /** The thread frees the shared memory of rows that left it (worker-thread.ts); the slot does not wait. */
  private collectFreed(): void {
    setTimeout(() => {
      this.link.collectFreed?.().catch(() => {}); // a failed thread shows in the next request
    }, COLLECT_DELAY_MS).unref();
  }

  private holds(rows: number): void {
    this.heldRows = rows;
    this.bytesHeld = rows * this.rowBytes;
  }

  /** The rate limit now in force (reapplied by nothing: kept for the agent's status line). */
  get rateLimit(): number {
    return this.rate;
  }
}

/** What a slot tells and asks its job session: memory (receive-memory.ts), and when the job computes. */
export interface SlotMemory {
  /** Why `extraBytes` more on `slot` would break the agent's memory cap, if they would. */
  admit(slot: number, extraBytes: number): string | null;
  /** The slot's first pass begins (the job computes), its initial share `bytes`. */
  firstPass(bytes: number): void;
  /** Rows sent away and confirmed by their receiver: their buffers may be reused. */
  released(fragments: readonly ExemplarColumns[]): void;
  /** A direct move to or from this slot begins. */
  moveBegins(): void;
}

class Refusal extends Error {}

interface Part {
  readonly count: number;
  readonly ticket: string;
  readonly host: string;
  readonly port: number;
  readonly slot: number;
}

function isPart(p: unknown): p is Part {
  const q = p as Part;
  return (
    typeof p === 'object' &&
    p !== null &&
    Number.isInteger(q.count) &&
    q.count >= 0 &&
    typeof q.ticket === 'string' &&
    typeof q.host === 'string' &&
    Number.isInteger(q.port) &&
    Number.isInteger(q.slot)
  );
}

function refused(message: string): Refusal {
  return new Refusal(message);
}

function one(m: Message): Uint8Array {
  if (m.bodies.length !== 1) throw refused(`expected one body, got ${m.bodies.length}`);
  return m.bodies[0];
}

function describeFailure(error: unknown): CallFailure {
  if (error instanceof WorkerFault) {
    return {
      type: 'fault',
      failure: error.failure,
      during: error.during,
      detail: error.detail,
      kernelError: error.kernelError,
    };
  }
  if (error instanceof CoordinatorBug) return { type: 'bug', message: error.message };
  const message = error instanceof Error ? error.message : String(error);
  return { type: 'refused', message };
}
