import { type Actor, createActor, fromPromise } from 'xstate';
import { addAccumulator } from '../app/accumulator.ts';
import { JobInterrupted, RunFailure } from '../errors.ts';
import type { EventRecord, SchedulerEvent } from '../events/types.ts';
import { exemplarBytes } from '../exemplars/rows.ts';
import {
  type PassOutput,
  passMachine,
  type RecoverResult,
  type SliceResult,
} from '../machine/pass-machine.ts';
import type { workerMachine } from '../machine/worker-machine.ts';
import { NotEnoughRoom } from '../partition/errors.ts';
import { checkHostSpeed } from '../partition/host-speed.ts';
import { partitionBySpeed } from '../partition/target-shares.ts';
import { FaultRecovery } from './fault-recovery.ts';
import { type FaultRecord, faultsIn, isWorkerFault } from './faults.ts';
import { HandOffsWithoutStopping, handsOff } from './hand-offs-without-stopping.ts';
import { IdleFaults } from './idle-faults.ts';
import { JobState } from './job-state.ts';
import type { DataParallelJob, JobOptions } from './job-types.ts';
import { KernelFailures } from './kernel-failures.ts';
import type { PassReply } from './messages.ts';
import { RedistributionTiming } from './redistribution-timing.ts';
import { Redistributor } from './redistributor.ts';
import type { RedistributionRecord, StateTransition, WorkerRecord } from './report-types.ts';
import { emulatedRate, type HostSpec, maxCounts, startOrExplain, type WorkerSetup } from './start-workers.ts';
import { threadTransport } from './thread-worker.ts';
import { MAX_TIMER_MS, realTimers, type Timers } from './timers.ts';

export type { DataParallelJob, JobOptions };

/**
 * An ADM job: workers as threads, passes run by the pass machine (with its migration
 * states), events queued and applied at the next chunk boundary, the partition
 * recomputed from measured speeds and the data moved.
 */
export class AdmJob implements DataParallelJob {
  readonly mode = 'adm';
  /** What the coordinator knows of its hosts and workers, shared by its parts below. */
  private readonly state: JobState;
  private readonly timing: RedistributionTiming;
  private readonly recovery: FaultRecovery;
  private readonly idleFaults: IdleFaults;
  /** The wait for a host under way was begun by a recovery (which ends it when it succeeds). */
  private recoveryStartedWait = false;
  private readonly redistributor: Redistributor;
  private readonly handOffs: HandOffsWithoutStopping;
  /** The pass machine's one actor, made at the first pass (and again if it ever stopped on an error). */
  private passActor: Actor<typeof passMachine> | null = null;
  /** The last slice started: a new actor waits for it, so two slices never share the workers. */
  private sliceInFlight: Promise<unknown> | null = null;
  /** Settles the pass in progress. */
  private settlePass: ((outcome: { output: PassOutput } | { error: unknown }) => void) | null = null;
  /** A complete pass's speeds are still to be weighed for a rebalance (the number of moves then), or -1. */
  private gainDueAt = -1;
  private readonly kernelFailures: KernelFailures;
  private readonly passMachine: ReturnType<AdmJob['buildPassMachine']>;
  private readonly timers: Timers;

  private constructor(
    private readonly options: JobOptions,
    private readonly setup: WorkerSetup,
    shares: number[],
  ) {
    this.timers = options.timers ?? realTimers;
    this.kernelFailures = new KernelFailures(options.kernelModule);
    this.state = new JobState(options, setup, shares);
    this.timing = new RedistributionTiming(
      this.state,
      this.timers,
      () => this.passActor?.send({ type: 'scheduler.event' }), // between passes only a vacate acts on it
    );
    this.recovery = new FaultRecovery(this.state);
    this.redistributor = new Redistributor(this.state, this.timing, this.recovery);
    this.handOffs = new HandOffsWithoutStopping(this.state, this.timing);
    this.passMachine = this.buildPassMachine();
    this.redistributor.rehearse();
    this.idleFaults = new IdleFaults(this.state, this.recovery, this.handOffs, () => this.passActor);
    for (const link of setup.links) this.idleFaults.watch(link);
  }

  static async start(options: JobOptions): Promise<AdmJob> {
    if (options.chunkMs !== undefined && !(Number.isFinite(options.chunkMs) && options.chunkMs > 0)) {
      throw new RangeError(`chunkMs must be > 0, got ${options.chunkMs}`);
    }
    const wait = options.waitTimeoutMs;
    if (wait !== undefined && !(wait >= 0 && wait <= MAX_TIMER_MS)) {
      throw new RangeError(`waitTimeoutMs must be from 0 to ${MAX_TIMER_MS} (a timer's limit), got ${wait}`);
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
    return this.state.hostList;
  }

  /**
   * Hosts join the running job: their workers are started (no data yet) and then made
   * available together, so they take their shares in one redistribution like hosts made
   * available (an agent's workers join at once: one by one, the first took a share and gave
   * part of it on to the second). Everything per worker grows at once, synchronously, so
   * every step of the coordinator sees the same number of workers.
   */
  async addHosts(hosts: readonly HostSpec[]): Promise<EventRecord[]> {
    const names = new Set(this.state.hostList.map((h) => h.name));
    for (const host of hosts) {
      if (names.has(host.name)) throw new RangeError(`host ${host.name} is already in the job`);
      checkHostSpeed(host);
      names.add(host.name);
    }
    const transport = this.options.transport ?? threadTransport;
    const first = this.setup.links.length;
    const started = await Promise.allSettled(
      hosts.map((host, k) =>
        transport.start({
          index: first + k,
          host: host.name,
          kernelModule: this.options.kernelModule,
          kernelConfig: this.options.kernelConfig,
          livenessMs: this.options.livenessMs ?? 3000,
        }),
      ),
    );
    const links = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const failed = started.find((r) => r.status === 'rejected');
    const raced =
      this.setup.links.length !== first ||
      this.state.hostList.some((h) => hosts.some((n) => n.name === h.name));
    if (failed || raced) {
      await Promise.allSettled(links.map((l) => l.close()));
      if (failed) throw failed.reason;
      throw new RangeError(`host ${hosts[0].name} joined twice at once`); // another join got there first
    }
    hosts.forEach((host, k) => {
      this.state.addWorker(host, links[k]);
      this.idleFaults.watch(links[k]);
      const rate = emulatedRate(this.setup, first + k);
      if (rate !== null) links[k].setRateLimit(rate);
    });
    return this.sendTogether(hosts.map((h) => ({ type: 'available', host: h.name })));
  }

  /**
   * Hosts leave the job for good (their agents are handed back): each must be vacated and
   * empty, or none leaves. They take no more requests, are not a fault when their workers
   * close, and every later event for them is refused.
   */
  retire(names: readonly string[]): void {
    const { hostList, available, held, lost, retired, workerActors } = this.state;
    const indexes = names.map((name) => {
      const i = hostList.findIndex((h) => h.name === name);
      if (i < 0) throw new RangeError(`the job has no host ${name}`);
      if (retired.has(name)) throw new RangeError(`host ${name} was released already`);
      if (available[i] || this.state.queue.availablePending(name))
        throw new RangeError(`host ${name} is not vacated; vacate it first`);
      if (held[i] > 0) throw new RangeError(`host ${name} still holds ${held[i]} exemplars`);
      return i;
    });
    for (const i of indexes) {
      retired.add(hostList[i].name);
      lost[i] = true;
      workerActors[i].send({ type: 'lost' });
    }
  }

  get trainCount(): number {
    return this.options.train.count;
  }

  send(event: SchedulerEvent): EventRecord {
    return this.sendTogether([event])[0];
  }

  /**
   * Events that happen together (`vacate big` for each of an agent's workers, a trace's
   * events of one iteration): all queued first, then acted on once. Acted on one by one
   * between passes, the first vacated worker's rows went to the second, which left next.
   */
  sendTogether(events: readonly SchedulerEvent[]): EventRecord[] {
    const records = events.map((event) => this.receive(event));
    const accepted = records.filter((r) => r.outcome?.status !== 'rejected');
    if (accepted.length > 0) this.actOnEvents(accepted.some((r) => r.event.type === 'vacate'));
    return records;
  }

  /** Queue one event, and what takes effect on receipt. */
  private receive(event: SchedulerEvent): EventRecord {
    const now = this.options.clock();
    const record = this.state.queue.receive(event, now);
    if (record.outcome?.status === 'rejected') return record;
    // The owner's word is obeyed at once; load and availability can wait for a quiet moment.
    if (event.type === 'vacate') this.timing.vacateReceived();
    // An emulated host slows down when its owner loads it, not when the job reacts.
    const checked = record.event;
    if (checked.type === 'load') {
      this.state.emulateLoad(
        this.state.hostList.findIndex((h) => h.name === checked.host),
        checked.fraction,
      );
    }
    return record;
  }

  /** Events were queued (`vacate`: one was a vacate): move now, let the machine know, or wait. */
  private actOnEvents(vacate: boolean): void {
    if (this.timing.mayRedistribute()) {
      // A vacate the workers can take without stopping (while computing, or between passes):
      // the order goes out first, before the pass machine's own bookkeeping (half a
      // millisecond on a busy machine), for the vacated host is waiting on it. The machine
      // then follows it in its `handingOff` state.
      const snapshot = this.passActor?.getSnapshot();
      const betweenPasses = snapshot?.matches({ idle: 'quiet' }) ?? false;
      if (
        vacate &&
        !this.handOffs.launchPending &&
        (betweenPasses || snapshot?.matches({ computing: 'running' })) &&
        this.handOffs.plan(betweenPasses)
      ) {
        this.handOffs.launchAtOnce();
        return;
      }
      this.timing.interrupt();
    } else this.timing.deferInterrupt();
  }

  /** A recovery; one whose rows have nowhere to go starts (or goes on with) the wait for a host. */
  private async recoverOrWait(): Promise<RecoverResult> {
    const waiting = this.recovery.waitingFor;
    // Events that came while waiting are applied first (their outcomes recorded; data moves
    // after): one may give a host back, and none is left without an answer meanwhile.
    if (waiting !== null && this.state.queue.pending) this.redistributor.applyWhileWaiting(waiting);
    const out = await this.recovery.recover();
    // The wait's clock is this recovery's only if no wait was on when it began (a job already
    // waiting for a host when a worker failed keeps counting from then).
    if (out.noHostAvailable) this.recoveryStartedWait ||= this.redistributor.waitBegins();
    else if (this.recoveryStartedWait) {
      this.redistributor.waitEnds();
      this.recoveryStartedWait = false;
    }
    return out;
  }

  /** The pass machine with this job's effects: built once (providing it per pass costs time every pass). */
  private buildPassMachine() {
    return passMachine.provide({
      actors: {
        redistribute: fromRuntime(() => this.redistributor.redistribute()),
        redistributeBetweenPasses: fromRuntime(() => this.redistributor.redistribute(true)),
        recover: fromRuntime(() => this.recoverOrWait()),
        recoverBetweenPasses: fromRuntime(() => {
          this.handOffs.takeFailure(); // recovered from here
          return this.recoverOrWait();
        }),
        handOff: fromRuntime(() => this.handOffs.take()),
      },
      guards: {
        eventsPending: () => this.timing.mayRedistribute(),
        handOffPossible: () => this.handOffs.ready(),
        handOffPossibleBetweenPasses: () => this.handOffs.ready(true),
        handOffLaunched: () => this.handOffs.launchPending,
        handOffFault: () => this.handOffs.faultPending,
        vacateDue: () => this.timing.vacateDue,
        rebalanceDue: () => this.timing.rebalanceWanted(),
        noHostAvailable: () => this.state.available.every((a) => !a),
        workerLostUnnoticed: () =>
          this.setup.links.some((l) => !l.alive && !this.state.lost[l.index] && this.state.held[l.index] > 0),
        workerFault: ({ event }) => isWorkerFault((event as { error?: unknown }).error),
      },
      actions: {
        startSlice: ({ self }, { params, fresh }) => {
          const slice = this.computeSlice(params, fresh);
          this.sliceInFlight = slice;
          slice.then(
            (output) => self.send({ type: 'slice.done', output }),
            (error: unknown) => self.send({ type: 'slice.failed', error }),
          );
        },
        requestStop: () => {
          for (const l of this.setup.links) l.stop();
          for (const a of this.state.workerActors) a.send({ type: 'stop' });
        },
      },
      delays: { waitTimeout: () => this.redistributor.waitRemainingMs() },
    });
  }

  async pass(params: Float64Array): Promise<Float64Array> {
    this.assertNoPass();
    if (this.passActor === null && this.sliceInFlight !== null) {
      // The last actor stopped on an error in the middle of a slice: let that slice end first.
      await this.sliceInFlight.catch(() => {});
      this.assertNoPass();
    }
    const actor = this.livePassActor();
    const waitTimeoutMs = this.options.waitTimeoutMs ?? 60_000;
    const signal = this.options.signal;
    const cancel = () => actor.send({ type: 'cancel' });
    signal?.addEventListener('abort', cancel);
    const outcome = new Promise<{ output: PassOutput } | { error: unknown }>((resolve) => {
      this.settlePass = resolve;
    });
    try {
      actor.send({ type: 'pass', params, cancelled: signal?.aborted ?? false });
      const settled = await outcome;
      // A vacated sender answers after its move (its rows were with their receivers first):
      // a fault in that answer belongs to this pass, and to a report made right after it.
      await this.redistributor.lateRepliesIn();
      const late = this.recovery.takeLateFailure();
      if (late !== null) throw late;
      if ('error' in settled) throw settled.error;
      const out = settled.output;
      if (out.failure !== undefined) throw out.failure;
      // A recovery waiting for a host records its faults as unrecovered when the wait ends.
      const unplaced = out.gaveUp ? this.recovery.giveUpWaiting() : null;
      if (out.gaveUp && out.cancelled) throw new JobInterrupted();
      if (unplaced !== null)
        throw new RunFailure(
          `no host available: ${unplaced}, and none came back within ${waitTimeoutMs / 1000} s (--wait-timeout)`,
        );
      if (out.gaveUp || out.acc === null) throw new RunFailure(this.gaveUpWaiting(waitTimeoutMs));
      return out.acc;
    } finally {
      signal?.removeEventListener('abort', cancel);
      this.settlePass = null;
    }
  }

  /** Why the job stopped waiting for a host: what it waited for, and how to avoid it. */
  private gaveUpWaiting(waitTimeoutMs: number): string {
    const within = `within ${waitTimeoutMs / 1000} s (--wait-timeout)`;
    const shortage = this.redistributor.waitingFor;
    if (shortage instanceof NotEnoughRoom && this.state.available.some((a) => a)) {
      return `no room for the data: ${shortage.total} training exemplars, but the hosts still available may hold only ${shortage.room} under their memory caps, and no host came back ${within}; raise --max-memory on the agents, or add hosts`;
    }
    return `no host available: every host was vacated and none came back ${within}`;
  }

  private assertNoPass(): void {
    if (this.settlePass !== null) throw new Error('AdmJob.pass: a pass is already running (one at a time)');
  }

  /**
   * The pass machine's actor, started at the first pass and kept: a pass is a `pass` event
   * and ends with its `passDone` (an actor per pass cost the coordinator its creation every pass).
   */
  private livePassActor(): Actor<typeof passMachine> {
    if (this.passActor !== null) return this.passActor;
    const actor = createActor(this.passMachine, {
      input: { waitTimeoutMs: this.options.waitTimeoutMs ?? 60_000 },
      id: 'pass',
      clock: this.timers,
    });
    actor.on('passDone', (e) => this.settlePass?.({ output: e.output }));
    // An error thrown inside the machine stops the actor: that pass fails, the next gets a new
    // actor. Stopped by `close()` in the middle of a pass, the pass fails too (never hangs).
    actor.subscribe({
      error: (error) => {
        this.passActor = null;
        this.settlePass?.({ error });
      },
      complete: () => {
        this.passActor = null;
        this.settlePass?.({ error: new RunFailure('the job was closed in the middle of a pass') });
      },
    });
    actor.start();
    this.state.log.follow(actor);
    this.passActor = actor;
    // Idle faults that came during a move are taken once it is over.
    actor.subscribe(() => this.idleFaults.take());
    return actor;
  }

  private async computeSlice(params: Float64Array, fresh: boolean): Promise<SliceResult> {
    const { held, lost, workerActors, processed, estimator } = this.state;
    const resumed = this.redistributor.computingResumed();
    const active = this.setup.links.filter((_, i) => held[i] > 0 && !lost[i]);
    this.handOffs.sliceStarted();
    // When each reply came (job clock): its slice ran over the `elapsedMs` before, whatever
    // the others took, which is where an emulated load is read.
    const answeredAt = active.map(() => 0);
    const passes = active.map((w, k) =>
      w.pass(params, fresh, this.state.chunkRowsOf(w.index), true).then(
        (reply) => {
          answeredAt[k] = this.options.clock();
          return reply;
        },
        (error: unknown) => {
          // Stop the others at their next chunk: this pass will start over anyway.
          for (const l of active) l.stop();
          throw error;
        },
      ),
    );
    // The requests are out: what is left is done while the workers compute, not before.
    // A worker stays `computing` from one pass to the next: only a change is an event (each
    // costs the coordinator tens of µs).
    for (const a of workerActors) if (!isComputing(a)) a.send({ type: 'compute' });
    this.measureLastGain();
    const settled = await Promise.allSettled(passes);
    // Hand-offs made during this slice carry rows it must count (or recover): wait for all.
    while (this.handOffs.inFlight) await this.handOffs.settled();
    this.handOffs.sliceEnded();
    const faults = faultsIn(settled);
    const handOffFailure = this.handOffs.takeFailure();
    if (faults.length === 0 && handOffFailure !== null) throw handOffFailure;
    if (faults.length > 0) {
      this.kernelFailures.record(faults);
      throw faults[0];
    }
    if (held.reduce((a, b) => a + b, 0) !== this.options.train.count) await this.recovery.reconcile();
    const late = Math.max(
      0,
      ...settled.map((r) => (r as PromiseFulfilledResult<PassReply>).value.waitedForRowsMs ?? 0),
    );
    if (late > 0) this.redistributor.resumedLate(resumed, late);
    let acc: Float64Array | null = null;
    let complete = true;
    for (let k = 0; k < settled.length; k++) {
      const r = (settled[k] as PromiseFulfilledResult<PassReply>).value;
      const i = active[k].index;
      processed[i] += r.processed;
      const end = answeredAt[k];
      const load = this.state.emulatedLoadDuring(i, end - r.elapsedMs, end) ?? undefined;
      estimator.record(i, { count: r.processed, seconds: r.elapsedMs / 1000, load });
      if (r.interrupted && r.remaining > 0) complete = false;
      acc = acc === null ? r.acc : addAccumulator(acc, r.acc);
    }
    // Rows a worker took in after its share was done are counted by another slice.
    if (this.handOffs.uncounted > 0) complete = false;
    // Computing goes on into the next pass unless this slice ends early or a stop came.
    for (const a of workerActors) if (!complete || !isComputing(a)) a.send({ type: 'sliceDone' });
    // Whether the speeds measured call for a rebalance is first asked before a later pass, so
    // it is worked out once the next slice's requests are out, not here in series between the
    // last reply and the app (tens of µs of partitioning, on caches the workers just emptied).
    if (complete) this.gainDueAt = this.state.records.length;
    return { acc: acc ?? new Float64Array(0), complete };
  }

  /** The rebalance streak counts the last complete pass, unless data moved since (which restarts it). */
  private measureLastGain(): void {
    const due = this.gainDueAt;
    this.gainDueAt = -1;
    if (due === this.state.records.length) this.timing.measureGain();
  }

  /** Every fault, those whose rows still wait for a host included (as unrecovered so far). */
  faults(): readonly FaultRecord[] {
    const waiting = this.recovery.waitingRecords();
    return waiting.length === 0 ? this.recovery.records : [...this.recovery.records, ...waiting];
  }

  stateTransitions(): readonly StateTransition[] {
    return this.state.log.transitions();
  }

  counts(): readonly number[] {
    return this.state.held;
  }

  events(): readonly EventRecord[] {
    return this.state.queue.records();
  }

  redistributions(): readonly RedistributionRecord[] {
    return this.state.records;
  }

  workers(): WorkerRecord[] {
    const measured = this.state.estimator.snapshot();
    return this.state.hostList.map((h, i) => ({
      host: h.name,
      declaredSpeed: h.speed,
      emulatedRate: emulatedRate(this.setup, i),
      measuredRate: measured[i].measured ? measured[i].speed : null,
      load: measured[i].load,
      available: this.state.available[i],
      exemplars: this.state.held[i],
      exemplarsProcessed: this.state.processed[i],
    }));
  }

  calibration(): { readonly soloRate: number; readonly unitRate: number | null } {
    return { soloRate: this.setup.soloRate, unitRate: this.setup.unitRate };
  }

  chunksDone(): number {
    return this.setup.links.reduce((s, l) => s + (l.alive ? l.chunksDone() : 0), 0);
  }

  async heldIds(): Promise<Int32Array[]> {
    // A worker that failed holds nothing any more, recorded or not yet.
    return Promise.all(
      this.setup.links.map((w) => (this.state.lost[w.index] || !w.alive ? new Int32Array(0) : w.ids())),
    );
  }

  async close(): Promise<void> {
    this.timing.close();
    this.recovery.close();
    // A hand-off between passes may still be on its way: the workers end once it has.
    while (this.handOffs.inFlight) await this.handOffs.settled();
    this.passActor?.stop();
    for (const a of this.state.workerActors) a.stop();
    await Promise.all(this.setup.links.map((w) => w.close()));
  }
}

/** The worker machine is flat: its state is a string (cheaper to read than `matches`, every pass). */
function isComputing(worker: Actor<typeof workerMachine>): boolean {
  return worker.getSnapshot().value === 'computing';
}

/** A promise actor whose body is a coordinator method (the effects the machine names). */
function fromRuntime<O>(run: () => Promise<O>) {
  return fromPromise<O, void>(() => run());
}
