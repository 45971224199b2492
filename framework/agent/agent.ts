/**
 * The host agent: the per-host daemon of the ADM papers. It listens for coordinators and
 * hosts worker threads for one job at a time; a second job is refused (with the name of
 * the one it serves) and served once the first ends. When its coordinator disappears —
 * the job connection closes or stays silent past the job's liveness limit — the agent
 * drops that job's data and is ready for the next.
 */
import { hostname } from 'node:os';
import { UserError } from '../errors.ts';
import type { FramedConnection } from '../net/frames.ts';
import { MessageChannel } from '../net/message-channel.ts';
import type { AgentInfo, Hello } from '../net/protocol.ts';
import { type Endpoint, formatEndpoint, type Listener, listen } from '../net/secure-socket.ts';
import { ADMOVE_VERSION } from '../util/version.ts';
import { JobSession } from './job-session.ts';
import { assertWatchable, type LoadWatchOptions } from './load-watcher.ts';

export interface AgentOptions {
  readonly host: string;
  readonly port: number;
  /** Default `HOST:PORT` as listened on. */
  readonly name?: string;
  readonly secret?: Buffer;
  readonly workers?: number;
  readonly speed?: number;
  /** Exemplar bytes accepted in all (null or absent: no cap). */
  readonly maxMemory?: number | null;
  /** A silent peer in the middle of a frame is dropped after this long (default 10 s). */
  readonly stallMs?: number;
  /**
   * Honour the fault a coordinator asks a worker to inject (`--inject-fault`): for tests
   * only — otherwise whoever may start a job could make the agent's workers fail.
   */
  readonly acceptFaults?: boolean;
  /**
   * Watch the machine while serving a job and tell the coordinator when the share of the
   * agent's cores other processes leave it changes and stays changed (`--load-watch`).
   */
  readonly loadWatch?: LoadWatchOptions | null;
  /**
   * Pre-fault a receive pool as large as each job's initial share here (within `maxMemory`),
   * so rows moved in land in warm memory (`--receive-pool`): a 100 MB move took half the time,
   * at the cost of up to twice the share's memory while the job runs. Off by default.
   */
  readonly receivePool?: boolean;
  /** One line per thing worth telling the operator (connections refused, jobs begun and ended). */
  readonly log?: (line: string) => void;
  /** Called when a job's session ends, however it ended (admove slurm serves one job, then exits). */
  readonly onJobEnded?: (job: string) => void;
  /**
   * Called when a coordinator says no job will come (`dismissAgent`), with its reason. Only an
   * agent given this accepts such a message, and only while it serves no job: admove slurm's
   * tasks, whose task 0 may fail before its job begins.
   */
  readonly onDismissed?: (reason: string) => void;
}

/** A connection must say who it is within this long. */
const HELLO_MS = 10_000;

export class Agent {
  private listener: Listener | null = null;
  private job: JobSession | null = null;
  /** Told no job will come (onDismissed): every job is refused from then on. */
  private dismissed = false;
  private info!: AgentInfo;

  private constructor(private readonly options: AgentOptions) {}

  static async start(options: AgentOptions): Promise<Agent> {
    const workers = options.workers ?? 1;
    if (!(Number.isInteger(workers) && workers >= 1)) throw new UserError(`--workers must be an integer ≥ 1`);
    const speed = options.speed ?? 1;
    if (!(Number.isFinite(speed) && speed > 0)) throw new UserError(`--speed must be a number > 0`);
    if (options.loadWatch) {
      checkLoadWatch(options.loadWatch);
      await assertWatchable();
    }
    const agent = new Agent(options);
    agent.listener = await listen({
      host: options.host,
      port: options.port,
      secret: options.secret,
      stallMs: options.stallMs,
      onConnection: (conn) => agent.accept(conn),
      onRejected: (remote, reason) => agent.log(`refused a connection from ${remote}: ${reason}`),
    });
    agent.info = {
      name: options.name ?? defaultName(agent.listener.address),
      version: ADMOVE_VERSION,
      workers,
      speed,
      maxMemory: options.maxMemory ?? null,
    };
    return agent;
  }

  get address(): Endpoint {
    if (!this.listener) throw new Error('agent not listening');
    return this.listener.address;
  }

  get name(): string {
    return this.info.name;
  }

  /** The job being served, if any (its id). */
  get busyWith(): string | null {
    return this.job?.id ?? null;
  }

  async close(): Promise<void> {
    await this.job?.end('the agent is shutting down');
    await this.listener?.close();
  }

  private log(line: string): void {
    this.options.log?.(line);
  }

  private accept(conn: FramedConnection): void {
    const channel = new MessageChannel(conn, { headersOnly: true });
    const timer = setTimeout(() => channel.destroy('no hello'), HELLO_MS);
    channel.next().then(
      (m) => {
        clearTimeout(timer);
        this.greet(channel, m.header).catch((error: unknown) => {
          this.log(`connection from ${channel.remote} failed: ${(error as Error).message}`);
          channel.destroy('failed');
        });
      },
      () => clearTimeout(timer),
    );
  }

  private async greet(channel: MessageChannel, header: Readonly<Record<string, unknown>>): Promise<void> {
    const refuse = async (reason: string) => {
      this.log(`refused ${channel.remote}: ${reason}`);
      await channel.send({ type: 'refused', reason }).catch(() => {});
      channel.close();
    };
    const hello = asHello(header);
    if (hello === null) return refuse('the first message was not an admove hello');
    if (hello.version !== ADMOVE_VERSION) {
      return refuse(
        `admove version mismatch: agent ${this.info.name} runs ${ADMOVE_VERSION}, the coordinator ${hello.version}; install the same version on both`,
      );
    }
    channel.allowBodies();
    switch (hello.role) {
      case 'probe':
        await channel.send({ type: 'welcome', ...this.info });
        channel.close();
        return;
      case 'dismiss': {
        const onDismissed = this.options.onDismissed;
        if (!onDismissed)
          return refuse(`agent ${this.info.name} serves any coordinator: it cannot be dismissed`);
        if (this.job) return refuse(`agent ${this.info.name} is busy with job ${this.job.id}`);
        // Settled before anything is awaited, so no job can slip in between.
        this.dismissed = true;
        onDismissed(oneLine(hello.job));
        await channel.send({ type: 'welcome', ...this.info }).catch(() => {});
        channel.close();
        return;
      }
      case 'job': {
        if (this.dismissed) return refuse(`agent ${this.info.name} was told no job will come; it is ending`);
        if (this.job) {
          return refuse(`agent ${this.info.name} is busy with job ${this.job.id}; try again when it ends`);
        }
        const session = new JobSession(
          hello.job,
          this.info,
          channel,
          (line) => this.log(line),
          () => {
            if (this.job === session) this.job = null;
            this.options.onJobEnded?.(hello.job);
          },
          this.options.secret,
          this.options.loadWatch ?? null,
          this.options.receivePool ?? false,
        );
        this.job = session;
        try {
          await channel.send({ type: 'welcome', ...this.info });
        } catch (error) {
          // The connection broke before the job began (closed, or broke the protocol in the
          // bytes right behind its hello): nothing runs, and the agent is free again at once.
          await session.end("the coordinator's connection broke before the job began");
          throw error;
        }
        this.log(`serving job ${hello.job} for ${channel.remote}`);
        await session.run();
        return;
      }
      case 'peer': {
        const job = this.job;
        if (!job || job.id !== hello.job) {
          return refuse(`agent ${this.info.name} serves no job ${hello.job}`);
        }
        await job.acceptPeer(channel);
        return;
      }
      case 'worker': {
        const job = this.job;
        if (!job || job.id !== hello.job) return refuse(`agent ${this.info.name} serves no job ${hello.job}`);
        const why = await job.attach(
          hello.slot ?? -1,
          channel,
          this.options.acceptFaults ? hello.fault : undefined,
        );
        if (why) return refuse(why);
        return;
      }
    }
  }
}

function checkLoadWatch(o: LoadWatchOptions): void {
  if (!(o.threshold > 0 && o.threshold <= 1)) throw new UserError('--load-threshold must be in (0, 1]');
  if (!(Number.isFinite(o.holdMs) && o.holdMs >= 0)) throw new UserError('--load-hold must be ≥ 0 seconds');
  if (!(Number.isFinite(o.sampleMs) && o.sampleMs >= 10))
    throw new UserError('--load-interval must be ≥ 10 ms');
}

/** At most 500 characters, no control characters: a reason from the wire, for a log line. */
function oneLine(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it removes
  return text.replace(/[\u0000-\u001f\u007f]+/g, ' ').slice(0, 500);
}

function asHello(h: Readonly<Record<string, unknown>>): Hello | null {
  if (h.type !== 'hello' || typeof h.version !== 'string' || typeof h.job !== 'string') return null;
  if (!['job', 'worker', 'probe', 'peer', 'dismiss'].includes(String(h.role))) return null;
  if (h.slot !== undefined && !Number.isInteger(h.slot)) return null;
  return h as unknown as Hello;
}

/**
 * HOST:PORT as listened on. On a wildcard address (every interface) that would be the same on
 * every machine (`0.0.0.0:7000`), and a job refuses two hosts of one name: the machine's own
 * name stands for the host there.
 */
function defaultName(address: Endpoint): string {
  const wildcard = address.host === '0.0.0.0' || address.host === '::' || address.host === '';
  return wildcard ? `${hostname()}:${address.port}` : formatEndpoint(address);
}
