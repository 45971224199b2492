/**
 * The coordinator's side of `admove agent --load-watch`: each load reading an agent sends
 * becomes a `load` event (the fraction left for the job) for every host of that agent —
 * one event per worker, as for an event naming the agent — and is kept for the run report
 * with the events it caused.
 */
import type { EventRecord } from '../events/types.ts';
import type { DataParallelJob } from '../runtime/job-types.ts';
import type { LoadReading } from './protocol.ts';

/** A reading as the transport hands it on: which agent sent it, and that agent's hosts. */
export interface AgentLoadReading extends LoadReading {
  readonly agent: string;
  readonly hosts: readonly string[];
}

/** One reading that caused events, for the report. */
export interface LoadReadingRecord {
  readonly agent: string;
  /** When the job received the events (its clock, ms since training started). */
  readonly receivedAt: number;
  /** The fraction of the agent's cores other processes took, [0, 1]. */
  readonly othersShare: number;
  /** The fraction left for the job: the events' `fraction`. */
  readonly fraction: number;
  readonly cores: readonly number[];
  /** `some avg10` (%) of the agent's CPU pressure file, and which file; null without PSI. */
  readonly pressure: { readonly someAvg10: number; readonly source: string } | null;
  readonly samples: number;
  readonly heldMs: number;
  /** The `load` events sent, one per host of the agent: their host and sequence number. */
  readonly events: readonly { readonly host: string; readonly seq: number }[];
}

/** Load readings → `load` events, for one job. */
export class LoadRelay {
  private job: DataParallelJob | null = null;
  /** Readings that came before the job ran: the latest per agent is sent when it does. */
  private readonly early = new Map<string, AgentLoadReading>();
  private readonly kept: LoadReadingRecord[] = [];

  /** `onEvent`: each event record as it is made (the CLI prints them). */
  constructor(private readonly onEvent: (record: EventRecord) => void = () => {}) {}

  /** From now on readings go to `job`; any that came earlier are sent now. */
  attach(job: DataParallelJob): void {
    this.job = job;
    const early = [...this.early.values()];
    this.early.clear();
    for (const reading of early) this.take(reading);
  }

  /** Send `reading` to the job as `load` events; the records of those events. */
  take(reading: AgentLoadReading): EventRecord[] {
    const job = this.job;
    if (job === null) {
      // Still the agent's latest word once the job runs: its watcher will not say it again.
      this.early.set(reading.agent, reading);
      return [];
    }
    const records = reading.hosts.map((host) => job.send({ type: 'load', host, fraction: reading.fraction }));
    for (const r of records) this.onEvent(r);
    if (records.length > 0) {
      this.kept.push({
        agent: reading.agent,
        receivedAt: records[0].receivedAt,
        othersShare: reading.othersShare,
        fraction: reading.fraction,
        cores: reading.cores,
        pressure: reading.pressure,
        samples: reading.samples,
        heldMs: reading.heldMs,
        events: records.map((r) => ({ host: r.event.host, seq: r.seq })),
      });
    }
    return records;
  }

  /** Every reading that caused events, in the order received. */
  records(): readonly LoadReadingRecord[] {
    return this.kept;
  }
}
