/**
 * One job an agent serves: its control connection (setup, heartbeats both ways, stops and
 * rate limits) and the worker slots its worker connections attach to. It ends — threads
 * closed, exemplars dropped — when the coordinator closes the job connection or falls
 * silent past the job's liveness limit.
 */

import { greet } from '../net/agent-connection.ts';
import type { Message, MessageChannel } from '../net/message-channel.ts';
import { preloadCodec } from '../net/payloads.ts';
import { type AgentInfo, BEAT_MS, type JobSetup, type LoadReading } from '../net/protocol.ts';
import type { Endpoint } from '../net/secure-socket.ts';
import type { FaultPlan } from '../runtime/faults.ts';
import { threadTransport } from '../runtime/thread-worker.ts';
import { collectGarbage } from '../util/garbage.ts';
import { resolveKernel } from '../util/kernel-specifier.ts';
import type { PeerAccess } from './direct-moves.ts';
import { LoadWatcher, type LoadWatchOptions } from './load-watcher.ts';
import { PeerLinks } from './peer-links.ts';
import { PeerRendezvous } from './peer-rendezvous.ts';
import { ReceiveMemory } from './receive-memory.ts';
import { sharedExemplarBodies } from './shared-bodies.ts';
import { WorkerSlot } from './worker-slot.ts';

export class JobSession {
  private setup: JobSetup | null = null;
  private readonly slots: (WorkerSlot | null)[];
  private readonly attaching = new Set<number>();
  private readonly workerChannels: MessageChannel[] = [];
  private lastHeard = performance.now();
  /** When the last beat ran: a long gap means this process was not running (stopped, starved). */
  private lastBeatAt = performance.now();
  private ended = false;
  private readonly rendezvous = new PeerRendezvous(() => this.livenessMs);
  private readonly peers: PeerAccess;
  /** Connections to the job's other agents, for moves out (kept open: peer-links.ts). */
  private readonly links: PeerLinks;
  private watcher: LoadWatcher | null = null;
  /** Worker slots whose first pass has begun (their initial share is in). */
  private readonly loadedSlots = new Set<number>();
  /** The collection after the load (maybeAfterLoad) is scheduled, or no longer wanted. */
  private loadCollected = false;
  /** A direct move began: a collection now would pause it, so the one after the load is skipped. */
  private moved = false;
  /** Pre-faulted memory that exemplar bodies arriving for this job are assembled in (`--receive-pool`). */
  private readonly memory: ReceiveMemory | null;

  constructor(
    readonly id: string,
    private readonly info: AgentInfo,
    private readonly control: MessageChannel,
    private readonly log: (line: string) => void,
    private readonly onEnd: () => void,
    secret: Buffer | undefined,
    /** With `--load-watch`: how the agent watches its machine while it serves the job. */
    private readonly loadWatch: LoadWatchOptions | null = null,
    /** `--receive-pool`: pre-fault memory for rows moved in (see ReceiveMemory). */
    receivePool = false,
  ) {
    this.slots = new Array<WorkerSlot | null>(info.workers).fill(null);
    this.memory = receivePool ? new ReceiveMemory(info.maxMemory, () => this.heldBytes()) : null;
    this.peers = {
      rendezvous: this.rendezvous,
      // Known once the job is set up (peers only move data after that).
      livenessMs: () => this.livenessMs,
      open: (endpoint: Endpoint) => this.links.open(endpoint),
      keep: (endpoint: Endpoint, channel: MessageChannel) => this.links.keep(endpoint, channel),
    };
    this.links = new PeerLinks(
      async (endpoint) => (await greet(endpoint, { role: 'peer', job: id }, { secret })).channel,
    );
  }

  /** A sending agent's connection for direct moves to this job's workers: each begins with its ticket. */
  async acceptPeer(channel: MessageChannel): Promise<void> {
    await channel.send({ type: 'welcome', ...this.info });
    this.workerChannels.push(channel);
    channel.placeBodies(this.memory?.placement ?? sharedExemplarBodies);
    void this.servePeer(channel);
  }

  /** One move after another on a peer connection, until it closes. */
  private async servePeer(channel: MessageChannel): Promise<void> {
    for (;;) {
      let m: Message;
      try {
        m = await channel.next();
      } catch {
        return; // closed
      }
      const ticket = m.header.ticket;
      if (m.header.type !== 'move' || typeof ticket !== 'string') {
        channel.destroy('protocol error: a peer connection carries moves, each announced by its ticket');
        return;
      }
      await this.rendezvous.arrive(ticket, channel);
    }
  }

  /** The host name of slot `k`: the agent's name, or NAME.k when it hosts several workers. */
  hostOf(slot: number): string {
    return this.info.workers === 1 ? this.info.name : `${this.info.name}.${slot}`;
  }

  /** Serve the control connection until the job ends. */
  async run(): Promise<void> {
    const beat = setInterval(() => this.beat(), BEAT_MS);
    const closed = () => this.ownStall() ?? 'the coordinator closed the job connection';
    this.control.onClose(() => void this.end(closed()));
    try {
      for (;;) {
        let m: Message;
        try {
          m = await this.control.next();
        } catch {
          break;
        }
        this.lastHeard = performance.now();
        this.onControl(m.header);
      }
    } finally {
      clearInterval(beat);
      await this.end(closed());
    }
  }

  /** Attach a worker connection to `slot`; a reason if it cannot be. */
  async attach(slot: number, channel: MessageChannel, fault?: FaultPlan): Promise<string | null> {
    const setup = this.setup;
    if (!setup) return 'the job is not set up yet';
    if (!(Number.isInteger(slot) && slot >= 0 && slot < this.slots.length)) {
      return `agent ${this.info.name} has no worker slot ${slot} (it hosts ${this.slots.length})`;
    }
    if (this.slots[slot] || this.attaching.has(slot)) return `worker slot ${slot} is already connected`;
    this.attaching.add(slot);
    let link: Awaited<ReturnType<typeof threadTransport.start>>;
    try {
      link = await threadTransport.start({
        index: slot,
        host: this.hostOf(slot),
        kernelModule: resolveKernel(setup.kernel),
        kernelConfig: setup.kernelConfig,
        livenessMs: setup.livenessMs,
        fault,
      });
    } catch (error) {
      return `worker ${this.hostOf(slot)} could not start: ${(error as Error).message}`;
    } finally {
      this.attaching.delete(slot);
    }
    if (this.ended) {
      await link.close();
      return 'the job ended';
    }
    const worker = new WorkerSlot(
      slot,
      link,
      {
        admit: (s, extra) => this.admit(s, extra),
        firstPass: (bytes) => {
          // Every agent of the job serves it by now (passes begin once all workers started).
          if (this.setup?.peers) this.links.warm(this.setup.peers);
          if (this.memory) {
            this.memory.firstLoad(bytes);
            this.log(
              `job ${this.id}: pre-faulting up to ${mb(this.memory.stats().budgetBytes)} for incoming moves`,
            );
          }
          this.loadedSlots.add(slot);
          this.maybeAfterLoad();
        },
        moveBegins: () => {
          this.moved = true;
        },
        released: (fragments) => this.memory?.released(fragments),
      },
      this.peers,
    );
    this.slots[slot] = worker;
    this.workerChannels.push(channel);
    // The coordinator gave up on this worker (or lost its connection): free the slot, its
    // thread and its rows, so they stop counting against the memory cap.
    channel.onClose(() => {
      if (this.slots[slot] !== worker) return;
      this.slots[slot] = null;
      this.loadedSlots.delete(slot);
      void worker.close();
      // The others may all be loaded now.
      this.maybeAfterLoad();
    });
    channel.placeBodies(this.memory?.placement ?? sharedExemplarBodies);
    await channel.send({ type: 'welcome', ...this.info, host: this.hostOf(slot) });
    void worker.serve(channel);
    return null;
  }

  /**
   * Every slot's initial share is in and the receive pool (if any) is full: collect the
   * load's garbage now, while the workers compute and this thread has nothing to do.
   *
   * Why: the load and the pool bring tens of MB of new buffers into this thread, and V8
   * answers that with full collections at a time of its own — in probes, often in the middle
   * of the job's first move (10–45 ms pauses on the sending or receiving agent; 20.8 MB
   * between loopback agents, 5 jobs each way). Collected here, the move finds none pending.
   * Skipped if a move has begun by then (the pool filled slowly): it would pause that move.
   */
  private maybeAfterLoad(): void {
    if (this.loadCollected || this.ended) return;
    const attached = this.slots.flatMap((s, k) => (s === null ? [] : [k]));
    if (attached.length === 0 || !attached.every((k) => this.loadedSlots.has(k))) return;
    this.loadCollected = true;
    const ready = this.memory?.filled() ?? Promise.resolve();
    void ready.then(() =>
      setImmediate(() => {
        if (this.ended || this.moved) return;
        const t = performance.now();
        if (!collectGarbage()) return;
        this.log(
          `job ${this.id}: initial load in; its garbage collected in ${(performance.now() - t).toFixed(0)} ms`,
        );
      }),
    );
  }

  async end(reason: string): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    this.watcher?.stop();
    this.onEnd();
    this.control.destroy(reason);
    for (const c of this.workerChannels) c.destroy(reason);
    this.rendezvous.clear(reason);
    this.links.close();
    const links = this.links.stats();
    const pool = this.memory?.stats();
    this.memory?.close();
    await Promise.allSettled(this.slots.map((s) => s?.close()));
    this.slots.fill(null);
    const poolLine = pool
      ? `; receive pool: ${mb(pool.faultedBytes)} pre-faulted, ${pool.hits} frames placed in it, ${pool.misses} in fresh memory`
      : '';
    const linksLine =
      links.dialled > 0
        ? `; peer connections: ${links.dialled} dialled, ${links.reused} move${links.reused === 1 ? '' : 's'} out found one open`
        : '';
    this.log(`job ${this.id} ended (${reason}); its exemplars are dropped${poolLine}${linksLine}`);
    collectGarbage();
  }

  /** The job's liveness limit (10 s until its setup says otherwise). */
  private get livenessMs(): number {
    return this.setup?.livenessMs ?? 10_000;
  }

  /**
   * The job looks dead from here because this process itself did not run past the liveness
   * limit (a SIGSTOP, or a machine too busy to run it): its coordinator gave up on it, while
   * here the coordinator merely seems silent, or gone. Null if it ran.
   */
  private ownStall(): string | null {
    const limit = this.livenessMs;
    const stalled = performance.now() - this.lastBeatAt;
    if (stalled <= limit) return null;
    return `this agent did not run for ${Math.round(stalled)} ms (stopped, or starved of CPU), past the job's liveness limit of ${limit} ms: its coordinator will have given up on it`;
  }

  private beat(): void {
    if (this.ended) return;
    const limit = this.livenessMs;
    if (performance.now() - this.lastHeard > limit) {
      void this.end(this.ownStall() ?? `the coordinator was silent for ${limit} ms`);
      return;
    }
    this.lastBeatAt = performance.now();
    this.control.send({ type: 'beat', chunks: this.slots.map((s) => s?.chunksDone ?? 0) }).catch(() => {});
  }

  private onControl(h: Readonly<Record<string, unknown>>): void {
    switch (h.type) {
      case 'setup': {
        if (this.setup) return;
        const setup = asSetup(h);
        if (!setup) {
          void this.end('a malformed job setup');
          return;
        }
        try {
          resolveKernel(setup.kernel);
        } catch (error) {
          const reason = (error as Error).message;
          this.control
            .send({ type: 'refused', reason })
            .catch(() => {})
            .finally(() => void this.end(reason));
          return;
        }
        this.setup = setup;
        preloadCodec(); // exemplars arrive as Arrow IPC: load the codec before they do
        this.control.send({ type: 'ready' }).catch(() => {});
        void this.watchLoad();
        return;
      }
      case 'stop':
        this.slots[Number(h.slot)]?.stop(Number(h.pass));
        return;
      case 'rate':
        this.slots[Number(h.slot)]?.setRateLimit(Number(h.rate));
        return;
      case 'cancel':
        this.rendezvous.cancel(String(h.ticket), `move ${String(h.ticket)} cancelled: ${String(h.reason)}`);
        return;
      default:
        return; // beats: lastHeard is all they are for
    }
  }

  /**
   * Tell the coordinator each lasting change of the share of the machine left for the job.
   * Started per job: a new job believes every host is at load 1, so the watch starts there.
   */
  private async watchLoad(): Promise<void> {
    const options = this.loadWatch;
    if (options === null) return;
    let watcher: LoadWatcher;
    try {
      watcher = await LoadWatcher.start(options, (reading) => {
        this.log(describeReading(reading));
        this.control.send({ ...reading }).catch(() => {});
      });
    } catch (error) {
      this.log(`load watch could not start: ${(error as Error).message}`);
      return;
    }
    if (this.ended) {
      watcher.stop();
      return;
    }
    this.watcher = watcher;
    this.log(`load watch for job ${this.id}: ${watcher.describe()}`);
  }

  private heldBytes(): number {
    return this.slots.reduce((s, w) => s + (w?.bytesHeld ?? 0), 0);
  }

  /** Why `extra` more bytes on `slot` would break the agent's memory cap, if they would. */
  private admit(_slot: number, extra: number): string | null {
    const cap = this.info.maxMemory;
    if (cap === null) return null;
    const held = this.heldBytes();
    if (held + extra <= cap) return null;
    return `agent ${this.info.name} would hold ${mb(held + extra)} of exemplars, above its --max-memory of ${mb(cap)}`;
  }
}

function describeReading(r: LoadReading): string {
  const pressure = r.pressure
    ? `; CPU pressure some avg10 ${r.pressure.someAvg10}% (${r.pressure.source})`
    : '';
  return `load watch: other processes took ${(r.othersShare * 100).toFixed(0)}% of core${r.cores.length === 1 ? '' : 's'} ${r.cores.join(',')} for ${(r.heldMs / 1000).toFixed(1)} s${pressure}; the job is told fraction ${r.fraction.toFixed(2)}`;
}

function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

function asSetup(h: Readonly<Record<string, unknown>>): JobSetup | null {
  if (typeof h.kernel !== 'string') return null;
  if (!(typeof h.livenessMs === 'number' && h.livenessMs > 0)) return null;
  const setup: JobSetup = {
    type: 'setup',
    kernel: h.kernel,
    kernelConfig: h.kernelConfig,
    livenessMs: h.livenessMs,
  };
  // The peers only let moves start sooner: a list that is not one is ignored, not fatal.
  const peers = Array.isArray(h.peers) && h.peers.every(isEndpoint) ? h.peers : undefined;
  return peers ? { ...setup, peers } : setup;
}

function isEndpoint(e: unknown): e is { host: string; port: number } {
  const x = e as { host: unknown; port: unknown };
  return (
    typeof e === 'object' &&
    e !== null &&
    typeof x.host === 'string' &&
    Number.isInteger(x.port) &&
    (x.port as number) > 0 &&
    (x.port as number) < 65536
  );
}
