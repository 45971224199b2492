import { type Actor, createActor } from 'xstate';
import { EventQueue } from '../events/event-queue.ts';
import type { EventRecord } from '../events/types.ts';
import { exemplarBytes } from '../exemplars/rows.ts';
import { workerMachine } from '../machine/worker-machine.ts';
import { SpeedEstimator } from '../partition/speed-estimator.ts';
import type { Transfer, WorkerCapacity } from '../partition/types.ts';
import { chunkRowsFor } from './calibration.ts';
import type { Deadline } from './deadline-drain.ts';
import type { JobOptions } from './job-types.ts';
import { LoadHistory } from './load-history.ts';
import type { RedistributionRecord } from './report-types.ts';
import { emulatedRate, type HostSpec, maxCounts, type WorkerSetup } from './start-workers.ts';
import { TransitionLog } from './transition-log.ts';
import type { WorkerLink } from './worker-link.ts';

/**
 * What an ADM job's coordinator knows of its hosts and workers, one entry per worker in
 * every list (index i: the worker of host i), shared by the parts of the coordinator
 * (`AdmJob`, the redistributor, hand-offs, recovery, the redistribution timing).
 */
export class JobState {
  readonly queue: EventQueue;
  readonly estimator: SpeedEstimator;
  readonly available: boolean[];
  readonly held: number[];
  readonly processed: number[];
  readonly records: RedistributionRecord[] = [];
  readonly workerActors: Actor<typeof workerMachine>[];
  readonly log: TransitionLog;
  /** Workers given up on (fault): never used again, whatever events say. */
  readonly lost: boolean[];
  /** The load each host was last told to run at (the estimator keeps a clamped copy). */
  readonly loads: number[];
  /**
   * Each host's emulated slow-down by its owner (1: none) over time (job clock), applied on
   * receipt of the `load` event.
   */
  private readonly loadHistory: LoadHistory[];
  /** The job's hosts: those it started with, then any that joined (`addHosts`). */
  readonly hostList: HostSpec[];
  /**
   * When each host's standing vacate was received (null: not vacated). An evacuation is
   * timed from there, also when the data had nowhere to go then and leaves later.
   */
  readonly vacatedAt: (number | null)[];
  /**
   * Each host's standing vacate deadline (null: none): kept from the vacate's receipt until
   * the host is available again, so one whose data had to wait for room still counts when the
   * data leaves later (past it by then: what moves is reloaded instead, and it is recorded missed).
   */
  readonly vacateDeadlines: (Deadline | null)[];
  /** Hosts released from the job (`AdmJob.retire`): gone for good, every event for them refused. */
  readonly retired = new Set<string>();

  constructor(
    readonly options: JobOptions,
    readonly setup: WorkerSetup,
    shares: number[],
  ) {
    const names = options.hosts.map((h) => h.name);
    this.hostList = [...options.hosts];
    this.log = new TransitionLog(options.clock, options.onTransition);
    this.queue = new EventQueue(names, {
      refuse: (e) => {
        if (this.retired.has(e.host))
          return `host ${e.host} was released from the job (its agent may serve other jobs now); it cannot come back`;
        // Applied, these would read as if the host had come back or left; it is gone.
        if (this.lost[this.hostList.findIndex((h) => h.name === e.host)])
          return `host ${e.host} failed and was given up on (its fault is in the report); an agent started again joins with add, under another --name`;
        return null;
      },
    });
    this.estimator = new SpeedEstimator(options.hosts.map((h) => h.speed));
    this.available = names.map(() => true);
    this.held = shares;
    this.processed = names.map(() => 0);
    this.lost = names.map(() => false);
    this.loads = names.map(() => 1);
    this.loadHistory = names.map(() => new LoadHistory());
    this.vacatedAt = names.map(() => null);
    this.vacateDeadlines = names.map(() => null);
    this.workerActors = options.hosts.map((h, i) => this.startWorkerActor(h, shares[i]));
  }

  /**
   * A host joins: everything per worker grows by one entry at once, synchronously, so every
   * step of the coordinator sees the same number of workers. Its worker holds no data yet
   * and is not available until the scheduler says so.
   */
  addWorker(host: HostSpec, link: WorkerLink): void {
    this.hostList.push(host);
    this.setup.links.push(link);
    this.setup.speeds.push(host.speed);
    this.available.push(false);
    this.held.push(0);
    this.processed.push(0);
    this.lost.push(false);
    this.loads.push(1);
    this.loadHistory.push(new LoadHistory());
    this.vacatedAt.push(null);
    this.vacateDeadlines.push(null);
    this.estimator.addWorker(host.speed);
    this.queue.addHost(host.name);
    this.workerActors.push(this.startWorkerActor(host, 0));
  }

  private startWorkerActor(host: HostSpec, count: number): Actor<typeof workerMachine> {
    const actor = createActor(workerMachine, { input: { host: host.name }, id: `worker:${host.name}` });
    actor.start();
    this.log.follow(actor);
    actor.send({ type: 'holding', count });
    return actor;
  }

  /**
   * When the request a redistribution answers came in, where both its measures start: the
   * earliest standing vacate of the hosts its `transfers` take rows from, else the earliest
   * event it `applied` (a load or an available; a rebalance on measured speeds applies none:
   * `startedAt`). Not simply the earliest event applied: a load that was waiting for a quiet
   * moment when a vacate came would date the vacate's evacuation from the load, and the
   * vacates of hosts whose data had to wait for a host would not count at all.
   */
  requestedAt(transfers: readonly Transfer[], applied: readonly EventRecord[], startedAt: number): number {
    const vacates = transfers.map((t) => this.vacatedAt[t.from]).filter((at): at is number => at !== null);
    if (vacates.length > 0) return Math.min(...vacates);
    return applied.reduce((t, r) => Math.min(t, r.receivedAt), startedAt);
  }

  /** The hosts' memory caps (in exemplars) added to what the estimator says of them. */
  capped(capacities: WorkerCapacity[]): WorkerCapacity[] {
    const caps = maxCounts(this.hostList, exemplarBytes(this.options.train.dim));
    return capacities.map((c, i) => (caps[i] === undefined ? c : { ...c, maxCount: caps[i] }));
  }

  /** Emulation: host `i` now runs at `fraction` of its speed (its owner's load). */
  emulateLoad(i: number, fraction: number): void {
    this.loadHistory[i].record(this.options.clock(), fraction);
    const rate = emulatedRate(this.setup, i);
    if (rate !== null) this.setup.links[i].setRateLimit(rate * fraction);
  }

  /**
   * The load emulated host `i` ran at from `start` to `end` (ms on the job's clock), weighted
   * by time, to divide its measured rate by: its owner's slow-down takes effect on receipt,
   * while the estimator knows only the load the job has applied, a pass or more later, and a
   * slice measured in between would make the host look slower than it is, then be slowed
   * again. Null when not emulating: the job then knows no more than the load it applied.
   */
  emulatedLoadDuring(i: number, start: number, end: number): number | null {
    if (emulatedRate(this.setup, i) === null) return null;
    return this.loadHistory[i].mean(start, end);
  }

  /** Rows per chunk for worker `i`: about `chunkMs` of its work, at its own speed. */
  chunkRowsOf(i: number): number {
    const rate = emulatedRate(this.setup, i);
    return chunkRowsFor(
      rate === null ? this.setup.soloRate : rate * this.loadHistory[i].current,
      this.options.chunkMs,
    );
  }
}
