import { type Actor, createActor, fromPromise, type InspectionEvent, toPromise } from 'xstate';
import { UserError } from '../errors.ts';
import { EventQueue } from '../events/event-queue.ts';
import type { EventRecord, SchedulerEvent } from '../events/types.ts';
import { byteSize, gatherRows, viewRows } from '../exemplars/batch.ts';
import type { ExemplarColumns } from '../exemplars/columns.ts';
import { passMachine, type RedistributeResult, type SliceResult } from '../machine/pass-machine.ts';
import { workerMachine } from '../machine/worker-machine.ts';
import { NoHostAvailable } from '../partition/errors.ts';
import { SpeedEstimator } from '../partition/speed-estimator.ts';
import { partitionBySpeed } from '../partition/target-shares.ts';
import { DEFAULT_MIN_GAIN, planTransfers, shouldRedistribute } from '../partition/transfer-plan.ts';
import type { Transfer } from '../partition/types.ts';
import { chunkRowsFor } from './calibration.ts';
import { deadlinesOf, reloadFromSource, splitForDeadlines, wouldMiss } from './deadline-drain.ts';
import { type FaultPlan, type FaultRecord, faultsIn, isWorkerFault } from './faults.ts';
import type { PassReply } from './messages.ts';
import { moveData } from './move-data.ts';
import type { RedistributionRecord, StateTransition, WorkerRecord } from './report-types.ts';
import { emulatedRate, type HostSpec, startWorkers, type WorkerSetup } from './start-workers.ts';
import { realTimers, type Timers } from './timers.ts';
import type { WorkerTransport } from './worker-link.ts';

export interface JobOptions {
  /** URL (href) of the module whose `createKernel(config)` builds the app's kernel in each thread. */
  readonly kernelModule: string;
  readonly kernelConfig: unknown;
  /** The training exemplars; the job copies them out to its workers. */
  readonly train: ExemplarColumns;
  readonly hosts: readonly HostSpec[];
  /** Throttle each worker to its declared speed (one machine emulating heterogeneous hosts). */
  readonly emulateSpeeds: boolean;
  /**
   * Emulate these speeds instead of the declared ones (e.g. declared all equal, run at 1:2:4,
   * so ADM must learn the real speeds from measured throughput). Needs `emulateSpeeds`.
   */
  readonly emulatedSpeeds?: readonly number[];
  /** Parameters for the kernel's speed calibration (any valid ones: the app's initial params). */
  readonly calibrationParams: Float64Array;
  /** Milliseconds since the run started. */
  readonly clock: () => number;
  /**
   * Timers on the same clock as `clock` (default: the real ones). A deterministic harness
   * passes virtual ones, so the job's waits (deferral, wait timeout) follow virtual time.
   */
  readonly timers?: Timers;
  /**
   * The kernel's unthrottled single-worker rate, exemplars/s, measured once elsewhere (no
   * calibration at start): jobs compared side by side share it, so they emulate the same machine.
   */
  readonly soloRate?: number;
  /** Rebalance at pass boundaries on measured speeds alone, without an event (default true). */
  readonly rebalance?: boolean;
  /** How workers are started (default: threads on this machine). */
  readonly transport?: WorkerTransport;
  /** How long to wait for a host when every host is vacated (default 60 s). */
  readonly waitTimeoutMs?: number;
  /** Minimum estimated gain before data moves for speed alone (default 5 %). */
  readonly minGain?: number;
  /**
   * Least compute time between a redistribution and the next one caused by `load` or
   * `available` events (default 100 ms, or 4× the last redistribution if that is longer):
   * under an event storm the job keeps computing instead of thrashing. `vacate` never waits.
   */
  readonly minIntervalMs?: number;
  /** A worker silent this long (no chunk done, no reply) is taken as hung (default 3000 ms). */
  readonly livenessMs?: number;
  /** Faults to inject, by worker index (tests and `--inject-fault`). */
  readonly injectFaults?: ReadonlyMap<number, FaultPlan>;
  readonly onFault?: (f: FaultRecord) => void;
  readonly onRedistribution?: (r: RedistributionRecord) => void;
  readonly onTransition?: (t: StateTransition) => void;
}

/** The coordinator's view of an app's data: run a pass, take events, report. */
export interface DataParallelJob {
  readonly mode: 'adm' | 'plain';
  readonly hosts: readonly HostSpec[];
  readonly trainCount: number;
  /** One pass over all exemplars: the kernel's accumulator summed over every exemplar exactly once. */
  pass(params: Float64Array): Promise<Float64Array>;
  /** An event from the global scheduler; never throws for a bad one (it is recorded as rejected). */
  send(event: SchedulerEvent): EventRecord;
  counts(): readonly number[];
  events(): readonly EventRecord[];
  redistributions(): readonly RedistributionRecord[];
  workers(): WorkerRecord[];
  /** Worker faults and how they were recovered from. */
  faults(): readonly FaultRecord[];
  /** States the job's machines entered, in order (empty for the plain build). */
  stateTransitions(): readonly StateTransition[];
  /** The rates the job runs at: measured (or given) once at start. */
  calibration(): { readonly soloRate: number; readonly unitRate: number | null };
  /** Chunks the workers have completed since they started (progress; grows during a pass). */
  chunksDone(): number;
  /** Exemplar ids each worker holds, asked of the workers themselves (an audit). */
  heldIds(): Promise<Int32Array[]>;
  close(): Promise<void>;
}

const TRANSITION_LIMIT = 5000;

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
  private readonly transitions: StateTransition[] = [];
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
  private readonly timers: Timers;
  /** The emulated slow-down each host's owner imposes (1: none), applied on receipt. */
  private readonly emulatedLoads: number[];

  private constructor(
    private readonly options: JobOptions,
    private readonly setup: WorkerSetup,
    shares: number[],
  ) {
    const names = options.hosts.map((h) => h.name);
    this.queue = new EventQueue(names);
    this.estimator = new SpeedEstimator(options.hosts.map((h) => h.speed));
    this.available = names.map(() => true);
    this.held = shares;
    this.processed = names.map(() => 0);
    this.lost = names.map(() => false);
    this.loads = names.map(() => 1);
    this.emulatedLoads = names.map(() => 1);
    this.timers = options.timers ?? realTimers;
    this.workerActors = options.hosts.map((h, i) => {
      const a = createActor(workerMachine, {
        input: { host: h.name },
        id: `worker:${h.name}`,
        inspect: (e) => this.inspect(e),
      });
      a.start();
      a.send({ type: 'holding', count: shares[i] });
      return a;
    });
  }

  static async start(options: JobOptions): Promise<AdmJob> {
    if (options.train.ids.some((id, row) => id !== row)) {
      // Recovery reloads exemplars by id from `train`, so ids must be row numbers.
      throw new RangeError('AdmJob: train.ids must be 0, 1, 2, … (the row numbers)');
    }
    const shares = partitionBySpeed(
      options.train.count,
      options.hosts.map((h) => ({ speed: h.speed, load: 1, available: true })),
    );
    const setup = await startWorkers({ ...options, shares });
    return new AdmJob(options, setup, shares);
  }

  get hosts(): readonly HostSpec[] {
    return this.options.hosts;
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
    if (event.type === 'load')
      this.emulateLoad(
        this.options.hosts.findIndex((h) => h.name === event.host),
        event.fraction,
      );
    if (this.mayRedistribute()) this.interrupt();
    else this.deferInterrupt();
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
   * At a pass boundary with no event pending: would the partition from the measured speeds
   * make passes clearly faster (twice `minGain`, so measurement noise does not move data)?
   * This is how a host slowed by something the scheduler never reported (another user's
   * process) loses data without an event.
   */
  private rebalanceWanted(): boolean {
    if (this.options.rebalance === false) return false;
    if (this.options.clock() < this.nextRedistributionAt) return false;
    const capacities = this.estimator.capacities(this.available);
    let targets: number[];
    try {
      targets = partitionBySpeed(this.options.train.count, capacities, this.held);
    } catch {
      return false;
    }
    const minGain = 2 * (this.options.minGain ?? DEFAULT_MIN_GAIN);
    return shouldRedistribute(this.held, targets, capacities, { minGain }).redistribute;
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

  async pass(params: Float64Array): Promise<Float64Array> {
    const machine = passMachine.provide({
      actors: {
        computeSlice: fromRuntime((input: { params: Float64Array; fresh: boolean }) =>
          this.computeSlice(input.params, input.fresh),
        ),
        redistribute: fromRuntime(() => this.redistribute()),
        recover: fromRuntime(() => this.recover()),
      },
      guards: {
        eventsPending: () => this.mayRedistribute(),
        rebalanceDue: () => this.rebalanceWanted(),
        workerFault: ({ event }) => isWorkerFault((event as { error?: unknown }).error),
      },
      actions: {
        requestStop: () => {
          for (const l of this.setup.links) l.stop();
          for (const a of this.workerActors) a.send({ type: 'stop' });
        },
      },
    });
    const waitTimeoutMs = this.options.waitTimeoutMs ?? 60_000;
    const actor = createActor(machine, {
      input: { params, waitTimeoutMs },
      id: 'pass',
      inspect: (e) => this.inspect(e),
      clock: this.timers,
    });
    this.current = actor;
    actor.start();
    try {
      const out = await toPromise(actor);
      if (out.failure !== undefined) throw out.failure;
      if (out.gaveUp || out.acc === null) {
        throw new UserError(
          `no host available: every host was vacated and none came back within ${waitTimeoutMs / 1000} s (--wait-timeout)`,
        );
      }
      return out.acc;
    } finally {
      this.current = null;
    }
  }

  private async computeSlice(params: Float64Array, fresh: boolean): Promise<SliceResult> {
    const now = this.options.clock();
    for (const r of this.awaitingResume) r.migrationMs = now - r.triggeredAt;
    this.awaitingResume = [];
    const active = this.setup.links.filter((_, i) => this.held[i] > 0 && !this.lost[i]);
    for (const a of this.workerActors) a.send({ type: 'compute' });
    const settled = await Promise.allSettled(
      active.map((w) =>
        w.pass(params, fresh, this.chunkRowsOf(w.index), true).catch((error: unknown) => {
          // Stop the others at their next chunk: this pass will start over anyway.
          for (const l of active) l.stop();
          throw error;
        }),
      ),
    );
    const faults = faultsIn(settled);
    if (faults.length > 0) throw faults[0];
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
    for (const a of this.workerActors) a.send({ type: 'sliceDone' });
    return { acc: acc ?? new Float64Array(0), complete };
  }

  private async redistribute(): Promise<RedistributeResult> {
    for (const a of this.workerActors) a.send({ type: 'redistribute' });
    const startedAt = this.options.clock();
    const drain = this.queue.drain(startedAt);
    this.urgent = false;
    this.options.hosts.forEach((h, i) => {
      const state = drain.states.get(h.name)!;
      this.available[i] = state.available && !this.lost[i];
      if (state.load !== this.loads[i]) {
        this.loads[i] = state.load;
        this.estimator.setLoad(i, state.load);
      }
    });
    const settle = (): RedistributeResult => {
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
    const receiving = this.available.map(
      (a, i) => a && !this.queue.vacatePending(this.options.hosts[i].name),
    );
    const capacities = this.estimator.capacities(receiving);
    const total = this.options.train.count;
    let targets: number[];
    try {
      targets = partitionBySpeed(total, capacities, this.held);
    } catch (error) {
      if (error instanceof NoHostAvailable) return { noHostAvailable: true };
      throw error;
    }
    const decision = shouldRedistribute(this.held, targets, capacities, { minGain: this.options.minGain });
    if (!decision.redistribute) return settle();
    // Largest fragments first, so a drain against a deadline frees the most soonest.
    const transfers = planTransfers(this.held, targets).sort((a, b) => b.count - a.count);
    const triggeredAt = drain.applied.reduce((t, r) => Math.min(t, r.receivedAt), startedAt);
    const deadlines = deadlinesOf(
      drain.applied,
      this.options.hosts.map((h) => h.name),
    );
    const rowBytes = byteSize(viewRows(this.options.train, 0, 1));
    const now = this.options.clock();
    // Per host that would miss its deadline: how many exemplars can still move in time.
    const budgets = new Map<number, number>();
    for (const d of deadlines.values()) {
      if (!wouldMiss(d, now, this.held[d.worker] * rowBytes, this.moveBytesPerMs)) continue;
      budgets.set(d.worker, Math.floor((Math.max(0, d.deadlineAt - now) * this.moveBytesPerMs) / rowBytes));
    }
    const split = splitForDeadlines(transfers, budgets);
    // moveData first: a sender's extract is queued before its drop, so the drop takes the rest.
    const [moved, reloaded] = await Promise.all([
      moveData(this.setup.links, split.move, this.options.clock),
      reloadFromSource(this.setup.links, this.options.train, split.reload, this.options.clock),
    ]);
    const doneAt = new Map(moved.senderDoneAt);
    for (const [i, t] of reloaded.senderDoneAt) doneAt.set(i, Math.max(t, doneAt.get(i) ?? t));
    if (moved.bytes > 0) {
      const took = Math.max(...moved.senderDoneAt.values()) - startedAt;
      if (took > 0) this.moveBytesPerMs = 0.5 * this.moveBytesPerMs + 0.5 * (moved.bytes / took);
    }
    const vacated = transfers.map((t) => t.from).filter((i) => !this.available[i]);
    const emptiedAt = vacated.length ? Math.max(...vacated.map((i) => doneAt.get(i)!)) : null;
    targets.forEach((n, i) => {
      this.held[i] = n;
    });
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
      countsAfter: [...targets],
      reason: decision.reason,
      deadlines: [...deadlines.values()].map((d) => ({
        host: d.host,
        deadlineMs: d.deadlineMs,
        met: (doneAt.get(d.worker) ?? startedAt) <= d.deadlineAt,
        reloaded: this.countFrom(split.reload, d.worker),
      })),
    };
    this.records.push(record);
    this.awaitingResume.push(record);
    this.options.onRedistribution?.(record);
    return settle();
  }

  /**
   * After a worker fault: give up on every failed worker, find the exemplars no live worker
   * holds (the training set minus what the live workers report — this also catches
   * fragments that were in flight to or from the failed one), reload them by id from the
   * data source, and hand them to the live available workers that are furthest below their
   * speed-proportional share. The pass then starts over.
   */
  private async recover(): Promise<void> {
    const detectedAt = this.options.clock();
    const links = this.setup.links;
    const failed = links.filter((l) => !l.alive && !this.lost[l.index]);
    for (const l of failed) {
      this.lost[l.index] = true;
      this.available[l.index] = false;
      this.held[l.index] = 0;
      this.workerActors[l.index].send({ type: 'lost' });
    }
    const live = links.filter((l) => !this.lost[l.index]);
    const holdings = await Promise.all(live.map((l) => l.ids()));
    live.forEach((l, k) => {
      this.held[l.index] = holdings[k].length;
    });
    const missing = missingIds(holdings, this.options.train.count);
    const receivers = live.filter((l) => this.available[l.index]).map((l) => l.index);
    if (receivers.length === 0 && missing.length > 0) {
      throw new UserError(
        `no worker left to take ${missing.length} exemplars after ${failed.map((l) => l.host).join(', ')} failed (the others are vacated or failed too)`,
      );
    }
    const capacities = this.estimator.capacities(this.available);
    const targets = partitionBySpeed(this.options.train.count, capacities, this.held);
    const inserts: Promise<number>[] = [];
    let next = 0;
    const needs = receivers
      .map((i) => ({ i, need: targets[i] - this.held[i] }))
      .sort((a, b) => b.need - a.need || a.i - b.i);
    needs.forEach(({ i, need }, k) => {
      const take =
        k === needs.length - 1 ? missing.length - next : Math.min(Math.max(0, need), missing.length - next);
      if (take <= 0) return;
      const rows = gatherRows(this.options.train, missing.subarray(next, next + take));
      next += take;
      this.held[i] += take;
      inserts.push(links[i].insert([rows]));
    });
    await Promise.all(inserts);
    const recoveryMs = this.options.clock() - detectedAt;
    for (const l of failed) {
      const fault = l.fault;
      const record: FaultRecord = {
        host: l.host,
        cause: fault?.failure ?? 'exited',
        during: fault?.during ?? 'unknown',
        message: fault?.message ?? 'worker lost',
        detectedAt,
        exemplarsReloaded: failed.length === 1 ? missing.length : Math.round(missing.length / failed.length),
        recoveryMs,
      };
      this.faultRecords.push(record);
      this.options.onFault?.(record);
    }
    this.workerActors.forEach((a, i) => {
      if (!this.lost[i]) a.send({ type: 'holding', count: this.held[i] });
    });
  }

  /** Emulation: host `i` now runs at `fraction` of its speed (its owner's load). */
  private emulateLoad(i: number, fraction: number): void {
    this.emulatedLoads[i] = fraction;
    const rate = emulatedRate(this.setup, i);
    if (rate !== null) this.setup.links[i].setRateLimit(rate * fraction);
  }

  /** Rows per chunk for worker `i`: about a millisecond of its work, at its own speed. */
  private chunkRowsOf(i: number): number {
    const rate = emulatedRate(this.setup, i);
    return chunkRowsFor(rate === null ? this.setup.soloRate : rate * this.emulatedLoads[i]);
  }

  private countFrom(transfers: readonly Transfer[], worker: number): number {
    return transfers.filter((t) => t.from === worker).reduce((s, t) => s + t.count, 0);
  }

  faults(): readonly FaultRecord[] {
    return this.faultRecords;
  }

  private inspect(e: InspectionEvent): void {
    if (e.type !== '@xstate.snapshot') return;
    const snapshot = e.snapshot as { value?: unknown };
    if (snapshot.value === undefined) return;
    const state = typeof snapshot.value === 'string' ? snapshot.value : JSON.stringify(snapshot.value);
    const actor = (e.actorRef as { id?: string }).id ?? 'actor';
    const last = this.transitions.findLast((t) => t.actor === actor);
    if (last?.state === state) return;
    const t = { at: this.options.clock(), actor, state };
    if (this.transitions.length < TRANSITION_LIMIT) this.transitions.push(t);
    this.options.onTransition?.(t);
  }

  stateTransitions(): readonly StateTransition[] {
    return this.transitions;
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
    return this.options.hosts.map((h, i) => ({
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

/** Ids in 0..count-1 that no list holds, ascending. */
function missingIds(holdings: readonly Int32Array[], count: number): Int32Array {
  const seen = new Uint8Array(count);
  for (const ids of holdings) for (const id of ids) seen[id] = 1;
  const out: number[] = [];
  for (let id = 0; id < count; id++) if (!seen[id]) out.push(id);
  return Int32Array.from(out);
}

/** A promise actor whose body is a coordinator method (the effects the machine names). */
function fromRuntime<I, O>(run: (input: I) => Promise<O>) {
  return fromPromise<O, I>(({ input }) => run(input));
}
