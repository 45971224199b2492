import { addAccumulator } from '../app/accumulator.ts';
import { EventQueue } from '../events/event-queue.ts';
import type { EventRecord, SchedulerEvent } from '../events/types.ts';
import type { DataParallelJob, JobOptions } from './adm-job.ts';
import type { FaultRecord } from './faults.ts';
import type { RedistributionRecord, StateTransition, WorkerRecord } from './report-types.ts';
import {
  emulatedRate,
  equalShares,
  type HostSpec,
  startOrExplain,
  type WorkerSetup,
} from './start-workers.ts';

/** Rows per chunk when nothing is checked between chunks: only the throttle needs chunks. */
const STATIC_CHUNK_ROWS = 256;

/**
 * The plain build (the paper's PVM_opt): a static equal partition, no migration states,
 * no event checks in the inner loop. Scheduler events are recorded but only `load` has
 * an effect — the emulated host really slows down, as it would under its owner's load —
 * while `vacate` and `available` are ignored: the plain build cannot move data.
 */
export class StaticJob implements DataParallelJob {
  readonly mode = 'plain';
  private readonly queue: EventQueue;
  private readonly held: number[];
  private readonly processed: number[];
  private readonly measured: (number | null)[];
  private readonly loads: number[];

  private constructor(
    private readonly options: JobOptions,
    private readonly setup: WorkerSetup,
    shares: number[],
  ) {
    // Recorded as rejected on receipt, so the records and the summary agree.
    this.queue = new EventQueue(
      options.hosts.map((h) => h.name),
      { refuse: (e) => (e.type === 'load' ? null : 'the plain build cannot move data') },
    );
    this.held = shares;
    this.processed = shares.map(() => 0);
    this.measured = shares.map(() => null);
    this.loads = shares.map(() => 1);
  }

  static async start(options: JobOptions): Promise<StaticJob> {
    const shares = equalShares(options.train.count, options.hosts.length);
    const setup = await startOrExplain({ ...options, shares });
    return new StaticJob(options, setup, shares);
  }

  get hosts(): readonly HostSpec[] {
    return this.options.hosts;
  }

  get trainCount(): number {
    return this.options.train.count;
  }

  sendTogether(events: readonly SchedulerEvent[]): EventRecord[] {
    return events.map((event) => this.send(event));
  }

  send(event: SchedulerEvent): EventRecord {
    const now = this.options.clock();
    const record = this.queue.receive(event, now);
    if (record.outcome?.status === 'rejected') return record;
    // A load takes effect on receipt (the host's owner slows it now), as in the ADM build.
    const { states } = this.queue.drain(now);
    this.options.hosts.forEach((h, i) => {
      const load = states.get(h.name)?.load ?? 1;
      if (load === this.loads[i]) return;
      this.loads[i] = load;
      const rate = emulatedRate(this.setup, i);
      if (rate !== null) this.setup.links[i].setRateLimit(rate * load);
    });
    return record;
  }

  async pass(params: Float64Array): Promise<Float64Array> {
    const replies = await Promise.all(
      this.setup.links.map((w) => w.pass(params, true, STATIC_CHUNK_ROWS, false)),
    );
    const acc = replies[0].acc;
    replies.forEach((r, i) => {
      this.processed[i] += r.processed;
      if (r.processed > 0) this.measured[i] = (r.processed / r.elapsedMs) * 1000;
      if (i > 0) addAccumulator(acc, r.acc);
    });
    return acc;
  }

  counts(): readonly number[] {
    return this.held;
  }

  events(): readonly EventRecord[] {
    return this.queue.records();
  }

  redistributions(): readonly RedistributionRecord[] {
    return [];
  }

  /** The plain build has no recovery: a worker fault fails the pass. */
  faults(): readonly FaultRecord[] {
    return [];
  }

  stateTransitions(): readonly StateTransition[] {
    return [];
  }

  workers(): WorkerRecord[] {
    return this.options.hosts.map((h, i) => ({
      host: h.name,
      declaredSpeed: h.speed,
      emulatedRate: emulatedRate(this.setup, i),
      measuredRate: this.measured[i] === null ? null : this.measured[i]! / this.loads[i],
      load: this.loads[i],
      available: true,
      exemplars: this.held[i],
      exemplarsProcessed: this.processed[i],
    }));
  }

  calibration(): { readonly soloRate: number; readonly unitRate: number | null } {
    return { soloRate: this.setup.soloRate, unitRate: this.setup.unitRate };
  }

  chunksDone(): number {
    return this.setup.links.reduce((s, l) => s + l.chunksDone(), 0);
  }

  async heldIds(): Promise<Int32Array[]> {
    return Promise.all(this.setup.links.map((w) => w.ids()));
  }

  async close(): Promise<void> {
    await Promise.all(this.setup.links.map((w) => w.close()));
  }
}
