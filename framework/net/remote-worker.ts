/**
 * A worker on an agent, as the coordinator sees it: the `WorkerLink` over TCP. Requests go
 * one at a time on the worker's own connection (the in-order rule); stops and rate limits
 * go on the agent's job connection, so they never wait behind a data batch. Liveness is the
 * agent's heartbeat: the agent watches its thread as the thread transport does, and
 * reports the thread's fault in its reply; the coordinator watches the agent.
 */

import type { ExemplarColumns } from '../exemplars/columns.ts';
import { batchRowsFor, byteSize, viewRows } from '../exemplars/rows.ts';
import { CoordinatorBug, WorkerFault } from '../runtime/faults.ts';
import type { ExtractReply, PassReply } from '../runtime/messages.ts';
import type { DirectMoveResult, WorkerLink } from '../runtime/worker-link.ts';
import { type AgentControl, withOwnStall } from './agent-connection.ts';
import { moveDirect } from './direct-move.ts';
import { FrameError } from './frames.ts';
import type { Body, Message, MessageChannel } from './message-channel.ts';
import { bytesOf, exemplarBodies, exemplarsFrom, float64From, int32From } from './payloads.ts';
import { isObject } from './protocol.ts';
import type { Endpoint } from './secure-socket.ts';

/** A receiver's answer to a direct move: what it holds now, and the rows and bytes it took. */
export interface ReceiveReply {
  readonly held: number;
  readonly received: number;
  readonly bytes: number;
}

export class RemoteWorker implements WorkerLink {
  private dead: WorkerFault | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  /** Requests enqueued and not finished: with none, the next one is written at once. */
  private outstanding = 0;
  private idleFaultListener: ((fault: WorkerFault) => void) | null = null;
  /** The request being exchanged now (one at a time), for what a fault names it failed in. */
  private current: string | null = null;
  private passSeq = 0;
  private dim = 0;
  private readonly lost: Promise<never>;

  constructor(
    readonly index: number,
    readonly host: string,
    readonly slot: number,
    private readonly agent: AgentControl,
    private readonly channel: MessageChannel,
  ) {
    const fromChannel = new Promise<never>((_, reject) => {
      // The agent's connection says only that it closed: whether this process stalled is added here.
      channel.onClose((reason) =>
        reject(this.wentAway('exited', withOwnStall(reason.message, agent.ownStall()))),
      );
    });
    // The agent's reason already says whether this process stalled (AgentConnection.loseWith).
    const fromAgent = agent.lost.catch((error: Error) => {
      throw this.wentAway(/heartbeat/.test(error.message) ? 'hung' : 'exited', error.message);
    });
    this.lost = Promise.race([fromChannel, fromAgent]);
    this.lost.catch(() => {});
  }

  get alive(): boolean {
    return this.dead === null;
  }

  /** Where this worker's agent listens (other agents dial it for direct moves). */
  get endpoint(): Endpoint {
    return this.agent.endpoint;
  }

  /** Bytes of bodies received from this worker's agent. */
  get bytesReceived(): number {
    return this.channel.bodyBytesReceived;
  }

  /** Features per exemplar, learnt from the first insert. */
  get features(): number {
    return this.dim;
  }

  moveTo(
    parts: readonly { readonly count: number; readonly to: WorkerLink }[],
  ): Promise<DirectMoveResult> | null {
    const direct = parts.map((p) => ({ count: p.count, to: p.to }));
    if (!direct.every((p) => p.to instanceof RemoteWorker && p.to.alive)) return null;
    return moveDirect(this, direct as { count: number; to: RemoteWorker }[]);
  }

  /** Take `rows` rows of move `ticket` from the agent that streams them (see direct-move.ts). */
  async receiveDirect(ticket: string, rows: number, dim: number): Promise<ReceiveReply> {
    const m = await this.call('receive', { op: 'receive', ticket, rows, dim }, []);
    if (dim > 0) this.dim = dim;
    const bytes = Number(m.header.bytes);
    return {
      held: Number(m.header.held),
      received: Number(m.header.received),
      bytes: Number.isFinite(bytes) ? bytes : 0,
    };
  }

  /** Stream each part to its receiver's agent. */
  async sendDirect(
    parts: readonly { count: number; ticket: string; host: string; port: number; slot: number }[],
  ): Promise<{ held: number; bytes: number; delivered: boolean[] }> {
    const m = await this.call('send', { op: 'send', parts }, []);
    const results = m.header.parts;
    if (!Array.isArray(results) || results.length !== parts.length) throw this.garbled('send');
    return {
      held: Number(m.header.held),
      bytes: Number(m.header.bytes),
      delivered: results.map((r) => isObject(r) && r.delivered === true),
    };
  }

  /** Keep (`keep`) or drop the rows of move `ticket` that were sent but not confirmed. */
  async settleDirect(ticket: string, keep: boolean): Promise<number> {
    return Number((await this.call('settle', { op: 'settle', ticket, keep }, [])).header.held);
  }

  /**
   * Move `ticket` will not be taken here: the agent stops waiting for its sender, or turns it
   * away. Also once this worker was given up on: its agent may still hold the sender's
   * connection (and a lost agent's job connection just drops the notice).
   */
  cancelReceive(ticket: string, reason: string): void {
    this.agent.cancel(ticket, reason);
  }

  get fault(): WorkerFault | null {
    return this.dead;
  }

  /**
   * Sent in requests of at most `INSERT_GROUP_BYTES` (a large fragment, such as a recovery's
   * reload, is first cut into ~1 MB views), one after the other and as one step of the queue,
   * so an agent receiving a large share holds at most one group beyond its data, and no
   * other request slips in between.
   */
  insert(fragments: readonly ExemplarColumns[]): Promise<number> {
    return this.enqueue(async () => {
      const dim = fragments[0]?.dim ?? this.dim;
      let held = -1;
      for (const group of groupsOf(fragments.flatMap(batchesOf), INSERT_GROUP_BYTES)) {
        const rows = group.reduce((s, f) => s + f.count, 0);
        const m = await this.exchange('insert', { op: 'insert', dim, rows }, await exemplarBodies(group));
        held = Number(m.header.held);
      }
      if (dim > 0) this.dim = dim;
      return held; // groupsOf always yields at least one (possibly empty) group
    });
  }

  async extract(counts: readonly number[]): Promise<ExtractReply> {
    const m = await this.call('extract', { op: 'extract', counts }, []);
    const sizes = m.header.parts;
    if (!Array.isArray(sizes) || sizes.length !== counts.length) throw this.garbled('extract');
    let next = 0;
    const parts = await Promise.all(
      sizes.map((n: unknown) => {
        const bodies = m.bodies.slice(next, next + Number(n));
        next += Number(n);
        return exemplarsFrom(bodies, this.dim);
      }),
    );
    return { parts, held: Number(m.header.held) };
  }

  pass(params: Float64Array, fresh: boolean, chunkRows: number, checkStop: boolean): Promise<PassReply> {
    const seq = ++this.passSeq;
    return this.call('pass', { op: 'pass', seq, fresh, chunkRows, checkStop }, [bytesOf(params)]).then(
      (m) => {
        const h = m.header;
        return {
          acc: float64From(m.bodies[0]),
          processed: Number(h.processed),
          interrupted: h.interrupted === true,
          elapsedMs: Number(h.elapsedMs),
          held: Number(h.held),
          remaining: Number(h.remaining),
          ...(typeof h.waitedForRowsMs === 'number' ? { waitedForRowsMs: h.waitedForRowsMs } : {}),
        };
      },
    );
  }

  async calibrate(params: Float64Array, ms: number): Promise<number> {
    return Number((await this.call('calibrate', { op: 'calibrate', ms }, [bytesOf(params)])).header.rate);
  }

  async ids(): Promise<Int32Array> {
    return int32From((await this.call('ids', { op: 'ids' }, [])).bodies[0]);
  }

  async drop(): Promise<{ ids: Int32Array; processed: Uint8Array }> {
    const m = await this.call('drop', { op: 'drop' }, []);
    return { ids: int32From(m.bodies[0]), processed: m.bodies[1].slice() };
  }

  stop(): void {
    if (!this.dead) this.agent.stop(this.slot, this.passSeq);
  }

  setRateLimit(exemplarsPerSecond: number): void {
    if (!this.dead) this.agent.setRateLimit(this.slot, exemplarsPerSecond);
  }

  chunksDone(): number {
    return this.agent.chunksDone(this.slot);
  }

  async close(): Promise<void> {
    if (this.dead) return;
    this.dead = new WorkerFault(this.index, this.host, 'exited', 'close', 'closed');
    this.channel.close();
    this.agent.release(this.slot);
  }

  /** One request, after every earlier one has finished: its reply, or the worker's fault. */
  private call(kind: string, header: Record<string, unknown>, bodies: Body[]): Promise<Message> {
    return this.enqueue(() => this.exchange(kind, header, bodies));
  }

  /** Run `step` after every earlier request has finished (the in-order rule). */
  private enqueue<T>(step: () => Promise<T>): Promise<T> {
    // With nothing outstanding the request is written now rather than a microtask later: a
    // move's requests then leave before the coordinator goes on with anything else (a pass
    // the app asked for right after a vacate ran first, ~1 ms of its CPU; timestamps, issue 10).
    const p = this.outstanding === 0 ? step() : this.queue.then(step, step);
    this.outstanding++;
    const finished = () => {
      this.outstanding--;
    };
    this.queue = p.then(finished, finished);
    return p;
  }

  /** One request and its reply, now: its reply, or the worker's fault. */
  private async exchange(kind: string, header: Record<string, unknown>, bodies: Body[]): Promise<Message> {
    if (this.dead) throw this.dead;
    this.current = kind;
    try {
      return await this.exchangeNow(kind, header, bodies);
    } finally {
      this.current = null;
    }
  }

  private async exchangeNow(kind: string, header: Record<string, unknown>, bodies: Body[]): Promise<Message> {
    const sent = this.channel.send({ type: 'call', ...header }, bodies).catch((error: unknown) => {
      // A frame this side refuses to send (over a limit) is admove's bug, not the worker's.
      if (error instanceof FrameError) throw new CoordinatorBug(this.host, kind, error.message);
      throw error;
    });
    const reply = sent.then(() => this.channel.next());
    const m = await Promise.race([reply, this.lost]).catch((error: unknown) => {
      if (error instanceof WorkerFault || error instanceof CoordinatorBug) throw error;
      throw this.giveUp('exited', kind, (error as Error).message);
    });
    if (this.dead) throw this.dead;
    if (m.header.type === 'ok') return m;
    throw this.failure(kind, m.header.failure);
  }

  private failure(kind: string, f: unknown): Error {
    if (!isObject(f)) return this.garbled(kind);
    if (f.type === 'bug') return new CoordinatorBug(this.host, kind, String(f.message));
    if (f.type === 'fault') {
      const failure = f.failure === 'hung' || f.failure === 'exited' ? f.failure : 'threw';
      const kernelError = typeof f.kernelError === 'string' ? f.kernelError : null;
      return this.giveUp(failure, kind, String(f.detail), kernelError);
    }
    // The agent refused the request itself (its memory cap, a malformed request): the
    // worker cannot go on with this job.
    return this.giveUp('threw', kind, `agent refused: ${String(f.message)}`);
  }

  private garbled(kind: string): WorkerFault {
    return this.giveUp('threw', kind, 'the agent sent a malformed reply');
  }

  /**
   * The connection closed or the agent went quiet: the fault of the request in flight, or,
   * with none, of an idle worker, which the job hears of at once (`onIdleFault`).
   */
  private wentAway(failure: 'exited' | 'hung', detail: string): WorkerFault {
    if (this.dead) return this.dead;
    const idle = this.outstanding === 0;
    const fault = this.giveUp(failure, idle ? 'idle' : (this.current ?? 'a request'), detail);
    if (idle) this.idleFaultListener?.(fault);
    return fault;
  }

  onIdleFault(listener: (fault: WorkerFault) => void): void {
    this.idleFaultListener = listener;
  }

  private giveUp(
    failure: 'threw' | 'exited' | 'hung',
    during: string,
    detail: string,
    kernelError: string | null = null,
  ): WorkerFault {
    if (this.dead) return this.dead;
    this.dead = new WorkerFault(this.index, this.host, failure, during, detail, kernelError);
    this.channel.destroy('given up');
    this.agent.release(this.slot);
    return this.dead;
  }
}

/** `f` as views of about `BATCH_BYTES` each: frames stay far below the 64 MiB limit. */
function batchesOf(f: ExemplarColumns): ExemplarColumns[] {
  const rows = batchRowsFor(f);
  if (f.count <= rows) return [f];
  const out: ExemplarColumns[] = [];
  for (let s = 0; s < f.count; s += rows) out.push(viewRows(f, s, Math.min(f.count, s + rows)));
  return out;
}

/** Above this many bytes, an insert goes as several requests. */
const INSERT_GROUP_BYTES = 16 << 20;

/** `fragments` in consecutive groups of at most `limit` bytes (a bigger fragment alone). */
function groupsOf(fragments: readonly ExemplarColumns[], limit: number): ExemplarColumns[][] {
  const groups: ExemplarColumns[][] = [[]];
  let bytes = 0;
  for (const f of fragments) {
    const size = byteSize(f);
    if (bytes + size > limit && groups[groups.length - 1].length > 0) {
      groups.push([]);
      bytes = 0;
    }
    groups[groups.length - 1].push(f);
    bytes += size;
  }
  return groups;
}
