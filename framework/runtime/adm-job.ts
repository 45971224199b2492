import { availableParallelism } from 'node:os';
import { type Actor, createActor, fromPromise, toPromise } from 'xstate';
import { JobInterrupted, RunFailure } from '../errors.ts';
import { EventQueue } from '../events/event-queue.ts';
import type { EventRecord, SchedulerEvent } from '../events/types.ts';
import { exemplarBytes, gatherRows } from '../exemplars/rows.ts';
import { passMachine, type RedistributeResult, type SliceResult } from '../machine/pass-machine.ts';
import { workerMachine } from '../machine/worker-machine.ts';
import { NoHostAvailable, NotEnoughRoom } from '../partition/errors.ts';
import { evacuationTargets } from '../partition/evacuation.ts';
import { SpeedEstimator } from '../partition/speed-estimator.ts';
import { partitionBySpeed } from '../partition/target-shares.ts';
import { DEFAULT_MIN_GAIN, planTransfers, shouldRedistribute } from '../partition/transfer-plan.ts';
import type { Transfer, WorkerCapacity } from '../partition/types.ts';
import { chunkRowsFor } from './calibration.ts';
import { deadlinesOf, moveBudgets, reloadFromSource, splitForDeadlines } from './deadline-drain.ts';
import { type FaultRecord, faultsIn, firstError, isWorkerFault } from './faults.ts';
import { canHandOff, handOffAll } from './hand-off.ts';
import type { DataParallelJob, JobOptions } from './job-types.ts';
import { KernelFailures } from './kernel-failures.ts';
import type { PassReply } from './messages.ts';
import { moveData } from './move-data.ts';
import { assignMissing, attributeReloads, checkCoverage, idCensus } from './recovery.ts';
import type { RedistributionRecord, StateTransition, WorkerRecord } from './report-types.ts';
import { emulatedRate, type HostSpec, maxCounts, startOrExplain, type WorkerSetup } from './start-workers.ts';
import { threadTransport } from './thread-worker.ts';
import { realTimers, type Timers } from './timers.ts';
import { TransitionLog } from './transition-log.ts';
import type { WorkerLink } from './worker-link.ts';

export type { DataParallelJob, JobOptions };

/** Passes in a row whose measured speeds must call for a rebalance before data moves for speed alone. */
const REBALANCE_STREAK = 3;
/** The most measurement noise can raise the gain a speed-alone rebalance needs. */
const NOISY_GAIN_CAP = 0.3;
/**
 * Hand-offs while computing need each receiver to reach a chunk boundary, so a core. With up
 * to this many workers per core they do (2 cores: 2–8 workers moved 10 MB 1.6× faster than
 * with every worker stopped, 16 as fast); beyond, receivers wait for a core (32 workers:
 * 174 ms against 140), and stopping everyone moves the rows sooner.
 */
const HAND_OFF_WORKERS_PER_CORE = 8;

/**
 * An ADM job: workers as threads, passes run by the pass machine (with its migration
 * states), events queued and applied at the next chunk boundary, the partition
 * recomputed from measured speeds and the data moved.
 */
export class AdmJob implements DataParallelJob {
  readonly mode = 'adm';
  private readonly queue: EventQueue;
  private readonly estimator: SpeedEstimator;
  private readonly available: boolean[];
  private readonly held: number[];
  private readonly processed: number[];
  private readonly records: RedistributionRecord[] = [];
  private readonly workerActors: Actor<typeof workerMachine>[];
  private readonly log: TransitionLog;
  private current: Actor<typeof passMachine> | null = null;
  /** Redistributions whose migration cost ends when computing resumes. */
  private awaitingResume: RedistributionRecord[] = [];
  /** A deferred interrupt for events that may wait (see `minIntervalMs`). */
  private deferred: unknown = null;
  private nextRedistributionAt = 0;
  /** Observed speed of moves, for deadline drains (starts at a conservative 200 MB/s). */
  private moveBytesPerMs = 200_000;
  /** A vacate is pending: it does not wait for `minIntervalMs`. */
  private urgent = false;
  /** Workers given up on (fault): never used again, whatever events say. */
  private readonly lost: boolean[];
  /** The load each host was last told to run at (the estimator keeps a clamped copy). */
  private readonly loads: number[];
  private readonly faultRecords: FaultRecord[] = [];
  /** Workers given up on whose exemplars are not reloaded yet (recovery may take several tries). */
  private recovering: { link: WorkerLink; held: number; detectedAt: number }[] = [];
  /** Since when every host has been vacated (null: some host is available). */
  private waitingSince: number | null = null;
  private readonly kernelFailures: KernelFailures;
  /** Complete passes in a row after which the measured speeds called for a rebalance. */
  private gainStreak = 0;
  private readonly passMachine: ReturnType<AdmJob['buildPassMachine']>;
  private readonly timers: Timers;
  /** The emulated slow-down each host's owner imposes (1: none), applied on receipt. */
  private readonly emulatedLoads: number[];
  /** The job's hosts: those it started with, then any that joined (`addHost`). */
  private readonly hostList: HostSpec[];
  /** The plan `handOffPossible` made, which the `handOff` actor then carries out. */
  private handOffPlan: Transfer[] | null = null;
  /** A slice is computing and has not yet waited for its hand-offs: one may start now. */
  private sliceRunning = false;
  /** A hand-off `send` launched at once, which the pass machine's `handingOff` state then takes over. */
  private launched: Promise<void> | null = null;
  /** Hand-offs in flight: the computing slice ends only once they are settled. */
  private readonly handOffs = new Set<Promise<unknown>>();
  /** Rows handed over in this slice to a worker whose share was done: not yet counted. */
  private uncounted = 0;
  /** A hand-off failed in this slice: recovery must run, whatever the passes replied. */
  private handOffFailure: unknown = null;

  private constructor(
    private readonly options: JobOptions,
    private readonly setup: WorkerSetup,
    shares: number[],
  ) {
    const names = options.hosts.map((h) => h.name);
    this.hostList = [...options.hosts];
    this.log = new TransitionLog(options.clock, options.onTransition);
    this.queue = new EventQueue(names);
    this.estimator = new SpeedEstimator(options.hosts.map((h) => h.speed));
    this.available = names.map(() => true);
    this.held = shares;
    this.processed = names.map(() => 0);
    this.lost = names.map(() => false);
    this.loads = names.map(() => 1);
    this.emulatedLoads = names.map(() => 1);
    this.timers = options.timers ?? realTimers;
    this.kernelFailures = new KernelFailures(options.kernelModule);
    this.passMachine = this.buildPassMachine();
    this.workerActors = options.hosts.map((h, i) => {
      const a = createActor(workerMachine, {
        input: { host: h.name },
        id: `worker:${h.name}`,
        inspect: this.log.inspect,
      });
      a.start();
      a.send({ type: 'holding', count: shares[i] });
      return a;
    });
  }

  static async start(options: JobOptions): Promise<AdmJob> {
    if (options.chunkMs !== undefined && !(Number.isFinite(options.chunkMs) && options.chunkMs > 0)) {
      throw new RangeError(`chunkMs must be > 0, got ${options.chunkMs}`);
    }
    if (options.train.ids.some((id, row) => id !== row)) {
      // Recovery reloads exemplars by id from `train`, so ids must be row numbers.
      throw new RangeError('AdmJob: train.ids must be 0, 1, 2, … (the row numbers)');
    }
    const caps = maxCounts(options.hosts, exemplarBytes(options.train.dim));
    let shares: number[];
    try {
      shares = partitionBySpeed(
        options.train.count,
        options.hosts.map((h, i) => ({ speed: h.speed, load: 1, available: true, maxCount: caps[i] })),
      );
    } catch (error) {
      if (error instanceof NotEnoughRoom) {
        throw new RunFailure(
          `the ${error.total} training exemplars do not fit: the hosts' memory caps allow ${error.room}; raise --max-memory on the agents, or add hosts`,
        );
      }
      throw error;
    }
    const setup = await startOrExplain({ ...options, shares });
    // Every channel a hand-off could use (n² − n) is opened now, so the first one does not wait for them.
    if (handsOff(options, setup.links.length)) {
      for (const l of setup.links) l.prepareHandOffs?.(setup.links);
    }
    return new AdmJob(options, setup, shares);
  }

  get hosts(): readonly HostSpec[] {
    return this.hostList;
  }

  /**
   * A host joins the running job: its worker is started (no data yet) and then made
   * available, so it takes its share at the next redistribution like any host made
   * available. Everything per worker grows by one entry at once, synchronously, so every
   * step of the coordinator sees the same number of workers.
   */
  async addHost(host: HostSpec): Promise<EventRecord> {
    if (this.hostList.some((h) => h.name === host.name)) {
      throw new RangeError(`host ${host.name} is already in the job`);
    }
    if (!(Number.isFinite(host.speed) && host.speed > 0))
      throw new RangeError(`host ${host.name}: speed must be > 0`);
    const transport = this.options.transport ?? threadTransport;
    const index = this.setup.links.length;
    const link = await transport.start({
      index,
      host: host.name,
      kernelModule: this.options.kernelModule,
      kernelConfig: this.options.kernelConfig,
      livenessMs: this.options.livenessMs ?? 3000,
    });
    if (this.setup.links.length !== index || this.hostList.some((h) => h.name === host.name)) {
      await link.close(); // another join got there first
      throw new RangeError(`host ${host.name} joined twice at once`);
    }
    this.hostList.push(host);
    this.setup.links.push(link);
    this.setup.speeds.push(host.speed);
    this.available.push(false);
    this.held.push(0);
    this.processed.push(0);
    this.lost.push(false);
    this.loads.push(1);
    this.emulatedLoads.push(1);
    this.estimator.addWorker(host.speed);
    this.queue.addHost(host.name);
    const actor = createActor(workerMachine, {
      input: { host: host.name },
      id: `worker:${host.name}`,
      inspect: this.log.inspect,
    });
    actor.start();
    actor.send({ type: 'holding', count: 0 });
    this.workerActors.push(actor);
    const rate = emulatedRate(this.setup, index);
    if (rate !== null) link.setRateLimit(rate);
    return this.send({ type: 'available', host: host.name });
  }

  /** The hosts' memory caps (in exemplars) added to what the estimator says of them. */
  private capped(capacities: WorkerCapacity[]): WorkerCapacity[] {
    const caps = maxCounts(this.hostList, exemplarBytes(this.options.train.dim));
    return capacities.map((c, i) => (caps[i] === undefined ? c : { ...c, maxCount: caps[i] }));
  }

  get trainCount(): number {
    return this.options.train.count;
  }

  send(event: SchedulerEvent): EventRecord {
    const now = this.options.clock();
    const record = this.queue.receive(event, now);
    if (record.outcome?.status === 'rejected') return record;
    // The owner's word is obeyed at once; load and availability can wait for a quiet moment.
    if (event.type === 'vacate') this.urgent = true;
    // An emulated host slows down when its owner loads it, not when the job reacts.
    const checked = record.event;
    if (checked.type === 'load') {
      this.emulateLoad(
        this.hostList.findIndex((h) => h.name === checked.host),
        checked.fraction,
      );
    }
    if (this.mayRedistribute()) {
      // A vacate the workers can take while computing: the order goes out first, before the
      // pass machine's own bookkeeping (half a millisecond on a busy machine), for the
      // vacated host is waiting on it. The machine then follows it in `handingOff`.
      if (
        event.type === 'vacate' &&
        this.launched === null &&
        this.current?.getSnapshot().matches({ computing: 'running' }) &&
        this.planHandOff()
      ) {
        const launched = this.launchHandOff();
        this.launched = launched;
        // The machine's bookkeeping waits for the hand-off: on a machine whose cores the workers
        // fill, the coordinator computing now would take a core from a worker handing rows over.
        launched.then(() => {
          if (this.launched === launched) this.interrupt();
        });
        return record;
      }
      this.interrupt();
    } else this.deferInterrupt();
    return record;
  }

  /** Pending events that should be applied now: a vacate, or enough compute since the last move. */
  private mayRedistribute(): boolean {
    if (!this.queue.pending) return false;
    return (
      this.urgent || this.available.every((a) => !a) || this.options.clock() >= this.nextRedistributionAt
    );
  }

  /**
   * At a pass boundary with no event pending: should data move for speed alone? Yes when a
   * host that is no longer available still holds data (a move failed part way), or when the
   * partition from the measured speeds would have made passes faster by `minGain` at
   * the end of `REBALANCE_STREAK` passes in a row — so one noisy measurement on a busy machine
   * does not move data. This is how a host slowed by something the scheduler never reported
   * (another user's process) loses data without an event.
   */
  private rebalanceWanted(): boolean {
    if (this.held.some((n, i) => n > 0 && !this.available[i]) && this.available.some((a) => a)) return true;
    return this.gainStreak >= REBALANCE_STREAK && this.options.clock() >= this.nextRedistributionAt;
  }

  /** After a complete pass: would the measured speeds' partition be clearly faster? Counts the streak. */
  private measureGain(): void {
    if (this.options.rebalance === false) return;
    const capacities = this.capped(this.estimator.capacities(this.available));
    let gain = false;
    try {
      const targets = partitionBySpeed(this.options.train.count, capacities, this.held);
      // A gain within twice what one measurement strays is not evidence: on short passes
      // (the SIMD kernel, two equal workers beside the coordinator) the measured speeds scatter
      // by several percent, and data moved back and forth after them made passes slower. A
      // gain of NOISY_GAIN_CAP or more is acted on however noisy the machine (a host really
      // four times slower must still lose data on a busy machine).
      const noise = Math.max(0, ...this.held.map((n, i) => (n > 0 ? this.estimator.noise(i) : 0)));
      const minGain = Math.max(this.options.minGain ?? DEFAULT_MIN_GAIN, Math.min(NOISY_GAIN_CAP, 2 * noise));
      gain = shouldRedistribute(this.held, targets, capacities, { minGain }).redistribute;
    } catch {
      gain = false;
    }
    this.gainStreak = gain ? this.gainStreak + 1 : 0;
  }

  private deferInterrupt(): void {
    if (this.deferred !== null) return;
    this.deferred = this.timers.setTimeout(
      () => {
        this.deferred = null;
        // A redistribution may have happened meanwhile and moved the next allowed time.
        if (this.mayRedistribute()) this.interrupt();
        else if (this.queue.pending) this.deferInterrupt();
      },
      Math.max(0, this.nextRedistributionAt - this.options.clock()),
    );
    // A pending deferral alone never keeps the process alive.
    (this.deferred as { unref?: () => void }).unref?.();
  }

  private interrupt(): void {
    if (this.deferred !== null) this.timers.clearTimeout(this.deferred);
    this.deferred = null;
    this.current?.send({ type: 'scheduler.event' });
  }

  /** The pass machine with this job's effects: built once (providing it per pass costs time every pass). */
  private buildPassMachine() {
    return passMachine.provide({
      actors: {
        computeSlice: fromRuntime((input: { params: Float64Array; fresh: boolean }) =>
          this.computeSlice(input.params, input.fresh),
        ),
        redistribute: fromRuntime(() => this.redistribute()),
        recover: fromRuntime(() => this.recover()),
        handOff: fromRuntime(() => this.handOff()),
      },
      guards: {
        eventsPending: () => this.mayRedistribute(),
        handOffPossible: () => this.handOffReady(),
        rebalanceDue: () => this.rebalanceWanted(),
        noHostAvailable: () => this.available.every((a) => !a),
        workerFault: ({ event }) => isWorkerFault((event as { error?: unknown }).error),
      },
      actions: {
        requestStop: () => {
          for (const l of this.setup.links) l.stop();
          for (const a of this.workerActors) a.send({ type: 'stop' });
        },
      },
      delays: { waitTimeout: () => this.waitRemainingMs() },
    });
  }

  async pass(params: Float64Array): Promise<Float64Array> {
    const machine = this.passMachine;
    const waitTimeoutMs = this.options.waitTimeoutMs ?? 60_000;
    const signal = this.options.signal;
    const actor = createActor(machine, {
      input: { params, waitTimeoutMs, cancelled: signal?.aborted ?? false },
      id: 'pass',
      inspect: this.log.inspect,
      clock: this.timers,
    });
    this.current = actor;
    const cancel = () => actor.send({ type: 'cancel' });
    signal?.addEventListener('abort', cancel);
    actor.start();
    try {
      const out = await toPromise(actor);
      if (out.failure !== undefined) throw out.failure;
      if (out.gaveUp && out.cancelled) throw new JobInterrupted();
      if (out.gaveUp || out.acc === null) {
        throw new RunFailure(
          `no host available: every host was vacated and none came back within ${waitTimeoutMs / 1000} s (--wait-timeout)`,
        );
      }
      return out.acc;
    } finally {
      signal?.removeEventListener('abort', cancel);
      this.current = null;
    }
  }

  private async computeSlice(params: Float64Array, fresh: boolean): Promise<SliceResult> {
    const now = this.options.clock();
    for (const r of this.awaitingResume) r.migrationMs = now - r.triggeredAt;
    this.awaitingResume = [];
    const active = this.setup.links.filter((_, i) => this.held[i] > 0 && !this.lost[i]);
    for (const a of this.workerActors) a.send({ type: 'compute' });
    this.uncounted = 0;
    this.handOffFailure = null;
    this.sliceRunning = true;
    const settled = await Promise.allSettled(
      active.map((w) =>
        w.pass(params, fresh, this.chunkRowsOf(w.index), true).catch((error: unknown) => {
          // Stop the others at their next chunk: this pass will start over anyway.
          for (const l of active) l.stop();
          throw error;
        }),
      ),
    );
    // Hand-offs made during this slice carry rows it must count (or recover): wait for all.
    while (this.handOffs.size > 0) await Promise.allSettled([...this.handOffs]);
    // From here on no hand-off may start until the next slice: its rows would miss this one.
    this.sliceRunning = false;
    // A hand-off `send` launched that the machine has not taken over yet (it waits for the
    // hand-off, which may end with the slice): it does now, while the slice is still on.
    if (this.launched !== null) this.interrupt();
    this.launched = null;
    const faults = faultsIn(settled);
    if (faults.length === 0 && this.handOffFailure !== null) throw this.handOffFailure;
    if (faults.length > 0) {
      this.kernelFailures.record(faults);
      throw faults[0];
    }
    if (this.held.reduce((a, b) => a + b, 0) !== this.options.train.count) await this.reconcile();
    const replies = settled.map((r) => (r as PromiseFulfilledResult<PassReply>).value);
    let acc: Float64Array | null = null;
    let complete = true;
    replies.forEach((r, k) => {
      const i = active[k].index;
      this.processed[i] += r.processed;
      this.estimator.record(i, { count: r.processed, seconds: r.elapsedMs / 1000 });
      if (r.interrupted && r.remaining > 0) complete = false;
      if (acc === null) acc = r.acc;
      else for (let j = 0; j < acc.length; j++) acc[j] += r.acc[j];
    });
    // Rows a worker took in after its share was done are counted by another slice.
    if (this.uncounted > 0) complete = false;
    for (const a of this.workerActors) a.send({ type: 'sliceDone' });
    if (complete) this.measureGain();
    return { acc: acc ?? new Float64Array(0), complete };
  }

  /**
   * Whether the pending events can be applied while the workers compute: only vacates (no
   * deadline: a drain against one may need reloads), and every vacated worker able to hand
   * its rows straight to its receivers (threads). The plan is made here, for `handOff`.
   */
  private planHandOff(): boolean {
    this.handOffPlan = null;
    if (!this.sliceRunning || !handsOff(this.options, this.setup.links.length)) return false;
    if (!this.queue.onlyVacatesPending()) return false;
    if (this.handOffFailure !== null) return false;
    const receiving = this.available.map(
      (a, i) => a && !this.lost[i] && !this.queue.vacatePending(this.hostList[i].name),
    );
    if (!receiving.some(Boolean)) return false;
    let targets: number[];
    try {
      targets = evacuationTargets(this.capped(this.estimator.capacities(receiving)), this.held);
    } catch {
      return false; // nowhere to go: the usual path says so
    }
    const transfers = planTransfers(this.held, targets).sort((a, b) => b.count - a.count);
    if (!canHandOff(this.setup.links, transfers)) return false;
    this.handOffPlan = transfers;
    return true;
  }

  /** The `handOff` actor: never rejects; a failure is kept for the slice, which then recovers. */
  /** The `handOffPossible` guard: a hand-off was launched already, or one can be planned now. */
  private handOffReady(): boolean {
    return this.launched !== null || this.planHandOff();
  }

  /** The `handOff` actor: the hand-off `send` launched, or a new one from the plan just made. */
  private handOff(): Promise<void> {
    const work = this.launched ?? this.launchHandOff();
    this.launched = null;
    return work;
  }

  private launchHandOff(): Promise<void> {
    const work = this.runHandOff().catch((error: unknown) => {
      this.handOffFailure ??= error;
      // The slice will recover and start the pass over: no point computing the rest of it.
      for (const l of this.setup.links) l.stop();
    });
    this.handOffs.add(work);
    return work.finally(() => this.handOffs.delete(work));
  }

  private async runHandOff(): Promise<void> {
    const transfers = this.handOffPlan ?? [];
    this.handOffPlan = null;
    const startedAt = this.options.clock();
    // The orders go out before any bookkeeping: the vacated host is waiting on them, and on a
    // machine whose cores the workers fill this coordinator's every step is slow (the drain
    // and the worker actors' events below took 0.2–0.6 ms there, measured).
    const handing = transfers.length === 0 ? null : handOffAll(this.setup.links, transfers, this.options.clock);
    const drain = this.applyEvents(startedAt);
    if (handing === null) return;
    const triggeredAt = drain.applied.reduce((t, r) => Math.min(t, r.receivedAt), startedAt);
    for (const t of transfers) this.workerActors[t.from].send({ type: 'redistribute' });
    const outcome = await handing;
    if (outcome === null) throw new Error('the workers cannot hand rows to each other');
    // What each worker said it holds, even if some part failed: recovery then starts from it.
    outcome.held.forEach((n, i) => {
      if (n < 0) return;
      this.held[i] = n;
      this.workerActors[i].send({ type: 'holding', count: n });
    });
    this.uncounted += outcome.uncounted;
    if (outcome.failure !== null) throw outcome.failure;
    const end = this.options.clock();
    this.nextRedistributionAt = end + Math.max(this.options.minIntervalMs ?? 100, 4 * (end - startedAt));
    const record: RedistributionRecord = {
      index: this.records.length,
      events: drain.applied.map((r) => r.seq),
      triggeredAt,
      startedAt,
      obtrusivenessMs: outcome.handedAt - triggeredAt,
      migrationMs: outcome.takenAt - triggeredAt,
      exemplarsMoved: transfers.reduce((a, t) => a + t.count, 0),
      bytesMoved: outcome.bytes,
      transfers: transfers.length,
      countsAfter: [...this.held],
      reason: 'evacuate',
      deadlines: [],
      whileComputing: true,
    };
    this.records.push(record);
    this.options.onRedistribution?.(record);
  }

  /** Apply every pending event to the hosts' availability and loads. */
  private applyEvents(now: number) {
    const drain = this.queue.drain(now);
    this.urgent = false;
    this.hostList.forEach((h, i) => {
      const state = drain.states.get(h.name)!;
      this.available[i] = state.available && !this.lost[i];
      if (state.load !== this.loads[i]) {
        this.loads[i] = state.load;
        this.estimator.setLoad(i, state.load);
      }
    });
    return drain;
  }

  private async redistribute(): Promise<RedistributeResult> {
    for (const a of this.workerActors) a.send({ type: 'redistribute' });
    const startedAt = this.options.clock();
    const drain = this.applyEvents(startedAt);
    const settle = (): RedistributeResult => {
      this.gainStreak = 0;
      const end = this.options.clock();
      this.nextRedistributionAt = end + Math.max(this.options.minIntervalMs ?? 100, 4 * (end - startedAt));
      // Events that came in during this redistribution and may wait: apply them later.
      if (this.queue.pending && !this.mayRedistribute()) this.deferInterrupt();
      this.workerActors.forEach((a, i) => {
        a.send({ type: 'holding', count: this.held[i] });
      });
      return { noHostAvailable: false };
    };
    // A host whose vacate came in during this redistribution takes no data (it leaves next).
    const receiving = this.available.map((a, i) => a && !this.queue.vacatePending(this.hostList[i].name));
    const capacities = this.capped(this.estimator.capacities(receiving));
    const total = this.options.train.count;
    // Only vacates: move only the vacated data (a rebalance by speed waits for its own rule).
    const evacuation = drain.applied.length > 0 && drain.applied.every((r) => r.event.type === 'vacate');
    let targets: number[];
    try {
      targets = evacuation
        ? evacuationTargets(capacities, this.held)
        : partitionBySpeed(total, capacities, this.held);
    } catch (error) {
      if (!(error instanceof NoHostAvailable)) throw error;
      this.waitingSince ??= startedAt;
      return { noHostAvailable: true };
    }
    this.waitingSince = null;
    const decision = shouldRedistribute(this.held, targets, capacities, { minGain: this.options.minGain });
    if (!decision.redistribute) return settle();
    // Largest fragments first, so a drain against a deadline frees the most soonest.
    const transfers = planTransfers(this.held, targets).sort((a, b) => b.count - a.count);
    const triggeredAt = drain.applied.reduce((t, r) => Math.min(t, r.receivedAt), startedAt);
    const deadlines = deadlinesOf(
      drain.applied,
      this.hostList.map((h) => h.name),
    );
    const rowBytes = exemplarBytes(this.options.train.dim);
    const budgets = moveBudgets(deadlines, this.held, this.options.clock(), rowBytes, this.moveBytesPerMs);
    const split = splitForDeadlines(transfers, budgets);
    // moveData first: by the in-order rule a sender's extract runs before its drop, so the
    // drop hands back exactly what is left. Both are settled before anything else happens.
    const [movedResult, reloadedResult] = await Promise.allSettled([
      moveData(this.setup.links, split.move, this.options.clock),
      reloadFromSource(this.setup.links, this.options.train, split.reload, this.options.clock),
    ]);
    if (movedResult.status === 'rejected' || reloadedResult.status === 'rejected') {
      await this.reconcile();
      throw firstError([movedResult, reloadedResult]);
    }
    const moved = movedResult.value;
    const reloaded = reloadedResult.value;
    const doneAt = new Map(moved.senderDoneAt);
    for (const [i, t] of reloaded.senderDoneAt) doneAt.set(i, Math.max(t, doneAt.get(i) ?? t));
    if (moved.bytes > 0) {
      const took = Math.max(...moved.senderDoneAt.values()) - startedAt;
      if (took > 0) this.moveBytesPerMs = 0.5 * this.moveBytesPerMs + 0.5 * (moved.bytes / took);
    }
    const vacated = transfers.map((t) => t.from).filter((i) => !this.available[i]);
    const emptiedAt = vacated.length ? Math.max(...vacated.map((i) => doneAt.get(i)!)) : null;
    // The counts are what the workers said they hold, not what the plan meant them to.
    const reported = targets.map((n, i) => {
      if (reloaded.dropped.has(i)) return 0;
      const said = Math.max(moved.held[i], reloaded.held[i]);
      return said >= 0 ? said : n;
    });
    if (reported.reduce((a, b) => a + b, 0) === total) this.held.splice(0, reported.length, ...reported);
    else await this.reconcile();
    const record: RedistributionRecord = {
      index: this.records.length,
      events: drain.applied.map((r) => r.seq),
      triggeredAt,
      startedAt,
      obtrusivenessMs: emptiedAt === null ? null : emptiedAt - triggeredAt,
      migrationMs: null,
      exemplarsMoved: transfers.reduce((s, t) => s + t.count, 0),
      bytesMoved: moved.bytes,
      transfers: transfers.length,
      countsAfter: [...this.held],
      reason: decision.reason,
      deadlines: [...deadlines.values()].map((d) => ({
        host: d.host,
        deadlineMs: d.deadlineMs,
        met: (doneAt.get(d.worker) ?? startedAt) <= d.deadlineAt,
        reloaded: reloaded.reloadedFrom.get(d.worker) ?? 0,
      })),
    };
    this.records.push(record);
    this.awaitingResume.push(record);
    this.options.onRedistribution?.(record);
    return settle();
  }

  /**
   * After a move failed part way: take each live worker's count from the worker itself, so
   * the next plan starts from the truth. A failed worker is left to recovery; if every worker
   * answered and the ids still do not add up to the training set exactly once, nothing can
   * repair that, and the job stops.
   */
  private async reconcile(): Promise<void> {
    const live = this.setup.links.filter((l) => !this.lost[l.index] && l.alive);
    const replies = await Promise.allSettled(live.map((l) => l.ids()));
    const holdings: Int32Array[] = [];
    replies.forEach((r, k) => {
      if (r.status !== 'fulfilled') return;
      this.held[live[k].index] = r.value.length;
      holdings.push(r.value);
    });
    if (
      holdings.length < live.length ||
      live.length < this.setup.links.filter((l) => !this.lost[l.index]).length
    ) {
      return; // a worker failed: recovery reloads what it held
    }
    const coverage = checkCoverage(holdings, this.options.train.count);
    if (coverage !== null)
      throw new Error(`admove lost track of the exemplars after a failed move: ${coverage}`);
  }

  /**
   * After a worker fault: give up on every failed worker, find the exemplars no live worker
   * holds (the training set minus what the live workers report — this also catches
   * fragments that were in flight to or from the failed one), reload them by id from the
   * data source, and hand them to the live available workers that are furthest below their
   * speed-proportional share. Every call is settled before the next step, so no late insert
   * can land after the ids were counted. The pass then starts over.
   */
  private async recover(): Promise<void> {
    const links = this.setup.links;
    for (const l of links) {
      if (l.alive || this.lost[l.index]) continue;
      this.recovering.push({ link: l, held: this.held[l.index], detectedAt: this.options.clock() });
      this.lost[l.index] = true;
      this.available[l.index] = false;
      this.held[l.index] = 0;
      this.workerActors[l.index].send({ type: 'lost' });
    }
    const live = links.filter((l) => !this.lost[l.index]);
    const asked = await Promise.allSettled(live.map((l) => l.ids()));
    const askFaults = faultsIn(asked);
    if (askFaults.length > 0) throw askFaults[0];
    const holdings = asked.map((r) => (r as PromiseFulfilledResult<Int32Array>).value);
    live.forEach((l, k) => {
      this.held[l.index] = holdings[k].length;
    });
    const { missing, duplicated } = idCensus(holdings, this.options.train.count);
    if (duplicated > 0) throw new Error(`admove found ${duplicated} exemplars held twice during recovery`);
    // Hosts the scheduler has given back count as receivers even before the event is applied;
    // hosts with a vacate pending take nothing (they leave next).
    const receivers = live.map((l) => l.index).filter((i) => this.mayReceive(i));
    const hosts = this.recovering.map((r) => r.link.host).join(', ');
    if (receivers.length === 0 && missing.length > 0) {
      throw new RunFailure(
        `no worker left to take ${missing.length} exemplars after ${hosts} failed (the others are vacated or failed too)`,
      );
    }
    let targets: number[];
    try {
      targets = partitionBySpeed(
        this.options.train.count,
        this.capped(this.estimator.capacities(this.available.map((_, i) => receivers.includes(i)))),
        this.held,
      );
    } catch (error) {
      if (!(error instanceof NotEnoughRoom)) throw error;
      throw new RunFailure(
        `no room for the ${missing.length} exemplars ${hosts} held: the other hosts' memory caps allow ${error.room} of ${error.total} in all`,
      );
    }
    const plan = assignMissing(missing, receivers, targets, this.held);
    const inserts = await Promise.allSettled(
      [...plan].map(async ([i, ids]) => {
        this.held[i] = await links[i].insert([gatherRows(this.options.train, ids)]);
      }),
    );
    const insertFaults = faultsIn(inserts);
    if (insertFaults.length > 0) throw insertFaults[0];
    const recoveryMs = this.options.clock() - this.recovering[0].detectedAt;
    const reloadedBy = attributeReloads(
      this.recovering.map((r) => r.held),
      missing.length,
    );
    this.recovering.forEach((r, k) => {
      const fault = r.link.fault;
      const record: FaultRecord = {
        host: r.link.host,
        cause: fault?.failure ?? 'exited',
        during: fault?.during ?? 'unknown',
        message: fault?.message ?? 'worker lost',
        detectedAt: r.detectedAt,
        exemplarsReloaded: reloadedBy[k],
        recoveryMs,
      };
      this.faultRecords.push(record);
      this.options.onFault?.(record);
    });
    this.recovering = [];
    this.workerActors.forEach((a, i) => {
      if (!this.lost[i]) a.send({ type: 'holding', count: this.held[i] });
    });
  }

  /** Whether worker `i` may take data now: alive, and available — by the last word of the scheduler. */
  private mayReceive(i: number): boolean {
    if (this.lost[i]) return false;
    const host = this.hostList[i].name;
    if (this.queue.vacatePending(host)) return false;
    return this.available[i] || this.queue.availablePending(host);
  }

  /** Time left before giving up on a host, counted from when every host became vacated. */
  private waitRemainingMs(): number {
    const limit = this.options.waitTimeoutMs ?? 60_000;
    const since = this.waitingSince ?? this.options.clock();
    return Math.max(0, limit - (this.options.clock() - since));
  }

  /** Emulation: host `i` now runs at `fraction` of its speed (its owner's load). */
  private emulateLoad(i: number, fraction: number): void {
    this.emulatedLoads[i] = fraction;
    const rate = emulatedRate(this.setup, i);
    if (rate !== null) this.setup.links[i].setRateLimit(rate * fraction);
  }

  /** Rows per chunk for worker `i`: about `chunkMs` of its work, at its own speed. */
  private chunkRowsOf(i: number): number {
    const rate = emulatedRate(this.setup, i);
    return chunkRowsFor(
      rate === null ? this.setup.soloRate : rate * this.emulatedLoads[i],
      this.options.chunkMs,
    );
  }

  faults(): readonly FaultRecord[] {
    return this.faultRecords;
  }

  stateTransitions(): readonly StateTransition[] {
    return this.log.transitions();
  }

  counts(): readonly number[] {
    return this.held;
  }

  events(): readonly EventRecord[] {
    return this.queue.records();
  }

  redistributions(): readonly RedistributionRecord[] {
    return this.records;
  }

  workers(): WorkerRecord[] {
    const measured = this.estimator.snapshot();
    return this.hostList.map((h, i) => ({
      host: h.name,
      declaredSpeed: h.speed,
      emulatedRate: emulatedRate(this.setup, i),
      measuredRate: measured[i].measured ? measured[i].speed : null,
      load: measured[i].load,
      available: this.available[i],
      exemplars: this.held[i],
      exemplarsProcessed: this.processed[i],
    }));
  }

  calibration(): { readonly soloRate: number; readonly unitRate: number | null } {
    return { soloRate: this.setup.soloRate, unitRate: this.setup.unitRate };
  }

  chunksDone(): number {
    return this.setup.links.reduce((s, l) => s + (l.alive ? l.chunksDone() : 0), 0);
  }

  async heldIds(): Promise<Int32Array[]> {
    return Promise.all(this.setup.links.map((w) => (this.lost[w.index] ? new Int32Array(0) : w.ids())));
  }

  async close(): Promise<void> {
    if (this.deferred !== null) this.timers.clearTimeout(this.deferred);
    for (const a of this.workerActors) a.stop();
    await Promise.all(this.setup.links.map((w) => w.close()));
  }
}

/** A promise actor whose body is a coordinator method (the effects the machine names). */
/** Whether a job of `workers` workers hands rows over while computing (see HAND_OFF_WORKERS_PER_CORE). */
function handsOff(options: JobOptions, workers: number): boolean {
  return (
    options.handOffWhileComputing !== false && workers <= HAND_OFF_WORKERS_PER_CORE * availableParallelism()
  );
}

function fromRuntime<I, O>(run: (input: I) => Promise<O>) {
  return fromPromise<O, I>(({ input }) => run(input));
}
