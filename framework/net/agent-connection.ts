/**
 * The coordinator's end of one agent's job connection: it claims the agent for the job,
 * sends the job's setup, exchanges heartbeats, carries stops and rate limits, hands on the
 * agent's load readings, and opens a worker connection per worker. If the agent falls silent past the liveness limit, or the
 * job connection breaks, every worker on it fails at once with a `WorkerFault`.
 */

import { RunFailure } from '../errors.ts';
import type { FaultPlan } from '../runtime/faults.ts';
import { ADMOVE_VERSION } from '../util/version.ts';
import { MessageChannel } from './message-channel.ts';
import {
  type AgentInfo,
  asLoadReading,
  BEAT_MS,
  type Hello,
  type JobSetup,
  type LoadReading,
} from './protocol.ts';
import { connect, type Endpoint, formatEndpoint } from './secure-socket.ts';

export interface AgentAccess {
  readonly secret?: Buffer;
  /** How long to wait for an agent to answer a connection (default 10 s). */
  readonly connectMs?: number;
}

/**
 * Why an agent cannot be used: it refused (busy with another job, another version), or could
 * not be reached. One line; the run cannot go on without it (the CLI exits 1, or 2 when
 * `admove opt` meets it asking the agents of --hosts who they are, before any work).
 */
export class AgentUnavailable extends RunFailure {
  override readonly name = 'AgentUnavailable';
}

/** Open a connection, say hello, and return the channel with the agent's welcome. */
export async function greet(
  endpoint: Endpoint,
  hello: Omit<Hello, 'type' | 'version'>,
  access: AgentAccess,
): Promise<{ channel: MessageChannel; welcome: Readonly<Record<string, unknown>> }> {
  const where = formatEndpoint(endpoint);
  let channel: MessageChannel;
  try {
    channel = new MessageChannel(
      await connect(endpoint, { secret: access.secret, timeoutMs: access.connectMs ?? 10_000 }),
    );
  } catch (error) {
    throw new AgentUnavailable((error as Error).message);
  }
  await channel.send({ type: 'hello', version: ADMOVE_VERSION, ...hello });
  let reply: Readonly<Record<string, unknown>>;
  const waitMs = access.connectMs ?? 10_000;
  // A stopped agent's kernel still accepts connections: its answer is what proves it alive.
  let timedOut = false;
  const silent = setTimeout(() => {
    timedOut = true;
    channel.destroy(`no answer within ${waitMs} ms`);
  }, waitMs);
  try {
    reply = (await channel.next()).header;
  } catch (error) {
    // Silence is not a closed connection: something that is not an admove agent (a web
    // server, say) or a stopped agent keeps the connection open and says nothing.
    throw new AgentUnavailable(
      timedOut
        ? `${where} accepted the connection but gave no admove answer within ${waitMs} ms: is an admove agent listening there (and running, not stopped)?`
        : `agent ${where} closed the connection at the handshake (${(error as Error).message}); with a secret on one side only, or a different secret, this is what happens`,
    );
  } finally {
    clearTimeout(silent);
  }
  if (reply.type === 'refused') {
    channel.close();
    throw new AgentUnavailable(`agent ${where} refused: ${String(reply.reason)}`);
  }
  if (reply.type !== 'welcome') {
    channel.destroy('bad welcome');
    throw new AgentUnavailable(`agent ${where} answered the handshake with something else`);
  }
  return { channel, welcome: reply };
}

/** Who the agent at `endpoint` is. */
export async function probeAgent(endpoint: Endpoint, access: AgentAccess): Promise<AgentInfo> {
  const { channel, welcome } = await greet(endpoint, { role: 'probe', job: '' }, access);
  channel.close();
  return welcome as unknown as AgentInfo;
}

/**
 * Tell the agent at `endpoint` it will get no job (`reason`, one line): an agent started to
 * serve one job (admove slurm) then exits instead of waiting for it. Resolves once told.
 */
export async function dismissAgent(endpoint: Endpoint, reason: string, access: AgentAccess): Promise<void> {
  const { channel } = await greet(endpoint, { role: 'dismiss', job: reason }, access);
  channel.close();
}

/** Everything a worker on this agent needs from the job connection. */
export interface AgentControl {
  readonly endpoint: Endpoint;
  readonly info: AgentInfo;
  stop(slot: number, pass: number): void;
  setRateLimit(slot: number, rate: number): void;
  /** Tell the agent to stop waiting for direct move `ticket` (its sender failed). */
  cancel(ticket: string, reason: string): void;
  chunksDone(slot: number): number;
  /** Rejects when the agent is lost (silent or disconnected): the reason, one line. */
  readonly lost: Promise<never>;
  /** Opens slot `slot`'s worker connection. */
  openWorker(slot: number, fault?: FaultPlan): Promise<MessageChannel>;
  release(slot: number): void;
  /**
   * Why the agent seems gone when it was this process that did not run past the liveness
   * limit (stopped, or starved of CPU), which the agent takes for a silent coordinator; null
   * if this process ran.
   */
  ownStall(): string | null;
}

export class AgentConnection implements AgentControl {
  private chunks: number[] = [];
  private lastHeard = performance.now();
  /** When `tick` last ran: a tick far behind means this process did not run, not the agent. */
  private lastTickAt = performance.now();
  /** The last time this process did not run past the liveness limit, found by a late tick. */
  private stalled: { readonly at: number; readonly ms: number } | null = null;
  private readonly open = new Set<number>();
  private lostWith: Error | null = null;
  // Before `closed`, whose initializer sets it: a field declared after would reset it.
  private resolveClosed: () => void = () => {};
  /** Resolves once this connection is done with: shut down here, or lost. */
  readonly closed: Promise<void> = new Promise((resolve) => {
    this.resolveClosed = resolve;
  });
  private rejectLost!: (e: Error) => void;
  readonly lost: Promise<never>;
  private readonly timer: ReturnType<typeof setInterval>;

  private constructor(
    readonly endpoint: Endpoint,
    readonly info: AgentInfo,
    private readonly job: string,
    private readonly channel: MessageChannel,
    private readonly access: AgentAccess,
    private readonly livenessMs: number,
    private readonly onLoadReading: (reading: LoadReading) => void,
  ) {
    this.lost = new Promise<never>((_, reject) => {
      this.rejectLost = reject;
    });
    this.lost.catch(() => {});
    this.timer = setInterval(() => this.tick(), BEAT_MS);
    channel.onClose((reason) => this.loseWith(reason.message));
    void this.listen();
  }

  /** Claim the agent at `endpoint` for job `job` and set it up to run `kernel`. */
  static async claim(
    endpoint: Endpoint,
    job: string,
    setup: Omit<JobSetup, 'type'>,
    access: AgentAccess,
    /** What the agent's load watcher (`--load-watch`) reports, if it runs one. */
    onLoadReading: (reading: LoadReading) => void = () => {},
  ): Promise<AgentConnection> {
    const { channel, welcome } = await greet(endpoint, { role: 'job', job }, access);
    await channel.send({ type: 'setup', ...setup });
    // The agent beats every BEAT_MS from its welcome on: when the setup reaches it later than
    // that (a loaded machine), beats come before its answer. They are not the answer.
    let ready: Awaited<ReturnType<MessageChannel['next']>>;
    do {
      ready = await channel.next().catch((e: Error) => {
        throw new AgentUnavailable(
          `agent ${formatEndpoint(endpoint)} dropped the job at setup: ${e.message}`,
        );
      });
    } while (ready.header.type === 'beat');
    if (ready.header.type !== 'ready') {
      const why = typeof ready.header.reason === 'string' ? `: ${ready.header.reason}` : '';
      throw new AgentUnavailable(`agent ${formatEndpoint(endpoint)} refused the job setup${why}`);
    }
    return new AgentConnection(
      endpoint,
      welcome as unknown as AgentInfo,
      job,
      channel,
      access,
      setup.livenessMs,
      onLoadReading,
    );
  }

  get isLost(): boolean {
    return this.lostWith !== null;
  }

  stop(slot: number, pass: number): void {
    this.channel.send({ type: 'stop', slot, pass }).catch(() => {});
  }

  setRateLimit(slot: number, rate: number): void {
    this.channel.send({ type: 'rate', slot, rate }).catch(() => {});
  }

  cancel(ticket: string, reason: string): void {
    this.channel.send({ type: 'cancel', ticket, reason }).catch(() => {});
  }

  chunksDone(slot: number): number {
    return this.chunks[slot] ?? 0;
  }

  async openWorker(slot: number, fault?: FaultPlan): Promise<MessageChannel> {
    if (this.lostWith) throw new AgentUnavailable(this.lostWith.message);
    const { channel } = await greet(
      this.endpoint,
      { role: 'worker', job: this.job, slot, ...(fault ? { fault } : {}) },
      this.access,
    );
    this.open.add(slot);
    return channel;
  }

  /** Slot `slot` is done with; once none is left the job connection closes and the agent is free. */
  release(slot: number): void {
    this.open.delete(slot);
    if (this.open.size === 0) this.shutDown();
  }

  shutDown(): void {
    clearInterval(this.timer);
    if (!this.lostWith) this.lostWith = new Error('closed');
    this.channel.close();
    this.resolveClosed();
  }

  private async listen(): Promise<void> {
    for (;;) {
      let m: Awaited<ReturnType<MessageChannel['next']>>;
      try {
        m = await this.channel.next();
      } catch {
        return;
      }
      this.lastHeard = performance.now();
      const chunks = m.header.chunks;
      if (m.header.type === 'beat' && Array.isArray(chunks)) this.chunks = chunks.map(Number);
      if (m.header.type === 'load-reading') {
        // Same admove version on both ends (the handshake checks it): a malformed one is a bug; dropped.
        const reading = asLoadReading(m.header);
        if (reading) this.onLoadReading(reading);
      }
    }
  }

  private tick(): void {
    if (this.lostWith) return;
    const now = performance.now();
    if (now - this.lastTickAt > this.livenessMs) this.stalled = { at: now, ms: now - this.lastTickAt };
    this.lastTickAt = now;
    const silent = now - this.lastHeard;
    if (silent > this.livenessMs) {
      this.loseWith(`agent ${this.info.name} sent no heartbeat for ${Math.round(silent)} ms`);
      this.channel.destroy('silent');
      return;
    }
    this.channel.send({ type: 'beat' }).catch(() => {});
  }

  // The agent gives up on a coordinator silent past the limit as this one does on it: if it
  // was this process that did not run, the agent has dropped the job, and the reason says so.
  // A stall counts for two limits after it: the agent, which saw this coordinator silent, has
  // dropped the job by then, and its silence since (or its closed connection) is why it seems gone.
  ownStall(): string | null {
    const now = performance.now();
    const late = now - this.lastTickAt;
    const stall = late > this.livenessMs ? { at: now, ms: late } : this.stalled;
    if (stall === null || now - stall.at > 2 * this.livenessMs) return null;
    return `this coordinator itself did not run for ${Math.round(stall.ms)} ms (stopped, or starved of CPU), past the liveness limit of ${this.livenessMs} ms: the agent will have dropped the job`;
  }

  private loseWith(reason: string): void {
    clearInterval(this.timer);
    if (this.lostWith) return;
    this.lostWith = new Error(withOwnStall(reason, this.ownStall()));
    this.resolveClosed();
    this.rejectLost(this.lostWith);
  }
}

/** `reason`, and, if this process itself did not run past the liveness limit, that too. */
export function withOwnStall(reason: string, own: string | null): string {
  return own === null ? reason : `${reason}, but ${own}`;
}
