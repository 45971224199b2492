import { availableParallelism, cpus } from 'node:os';
import type {
  EventRecord,
  FaultRecord,
  LoadReadingRecord,
  RedistributionRecord,
  StateTransition,
  WorkerRecord,
} from '../../framework/index.ts';
import { writeFileAtomic } from './atomic-file.ts';

/** A load reading of an agent run with `--load-watch` that caused `load` events. */
export type LoadReadingReport = LoadReadingRecord;

/**
 * Bump when a field changes meaning or goes away; adding fields keeps the version. 2: a
 * move between passes ends its `migrationMs` when its rows are in (1: when the app asked for
 * the next pass), and `reason` names `available` and `load` (1: those were `gain`); status
 * `failed` and faults marked `unrecovered` are new.
 */
export const REPORT_SCHEMA_VERSION = 2;
export const REPORT_SCHEMA_URL = new URL('./report.schema.json', import.meta.url);

export interface IterationRecord {
  readonly iteration: number;
  /**
   * The error SCG minimises after the iteration: the mean error on the training rows plus the
   * weight-decay term (λ/2)·Σw² (settings.weightDecay).
   */
  readonly error: number;
  /**
   * The mean error on the training rows alone, without the decay term: the figure to set
   * beside `validationError`. Absent from iterations a checkpoint made before it was added.
   */
  readonly trainingError?: number;
  readonly testAccuracy: number;
  /** Mean error on the validation rows, without weight decay (NaN, null in JSON, without them). */
  readonly validationError: number;
  /** Accuracy on the validation rows (NaN, null in JSON, without them). */
  readonly validationAccuracy: number;
  /** Seconds since the run started. */
  readonly seconds: number;
  /** Exemplars held by each worker at the end of the iteration, in host order. */
  readonly exemplars: readonly number[];
}

export interface EventReport {
  readonly seq: number;
  readonly type: string;
  readonly host: string;
  readonly fraction?: number;
  readonly receivedAt: number;
  /**
   * Sent again when a run resumed from a checkpoint, to put the hosts back in the state they
   * were in (the trace's events up to its iteration, at once): not an event of this part.
   */
  readonly replayed?: true;
  /** When a redistribution applied it; null if it was superseded or rejected. */
  readonly appliedAt: number | null;
  readonly outcome: 'applied' | 'superseded' | 'rejected' | 'pending';
  readonly reason?: string;
  readonly supersededBy?: number;
  /** A vacate applied while the data had nowhere to go: why its data stayed on the host. */
  readonly dataStays?: string;
}

export interface RunReport {
  readonly schemaVersion: number;
  readonly tool: 'admove';
  readonly app: 'opt';
  readonly createdAt: string;
  /**
   * "interrupted": stopped early by Ctrl-C or SIGTERM; "failed": the run stopped on an error
   * (`failure`), such as no host coming back within --wait-timeout. Either way the figures
   * cover what ran.
   */
  readonly status: 'completed' | 'interrupted' | 'failed';
  /** Why a failed run stopped: its one-line error. */
  readonly failure?: string;
  readonly resumedFrom?: { readonly path: string; readonly iteration: number };
  readonly machine: { readonly cpu: string; readonly cores: number; readonly node: string };
  readonly settings: Record<string, unknown>;
  readonly data: {
    readonly source: string;
    readonly features: number;
    readonly classes: readonly string[];
    /** Rows the workers trained on (the training set less the validation rows). */
    readonly train: number;
    /** Training rows held out for validation, on the coordinator. */
    readonly validation: number;
    readonly test: number;
  };
  /** ms spent before the run clock started: loading data, starting and calibrating workers. */
  readonly setup: { readonly loadMs: number; readonly startWorkersMs: number };
  /**
   * The figures of the weights the run keeps: with a validation split, those of
   * `bestIteration` (lowest validation error); without one, the last iteration's.
   */
  readonly final: {
    readonly testAccuracy: number;
    readonly trainAccuracy: number;
    /** The error SCG minimises, of the kept weights: the training rows' mean plus the decay term. */
    readonly error: number;
    /** The kept weights' mean error on the training rows, without the decay term. */
    readonly trainingError: number;
    /** Iterations run (the kept weights may be from an earlier one: bestIteration). */
    readonly iterations: number;
    /** The iteration whose weights were kept (lowest validation error); null without a split. */
    readonly bestIteration: number | null;
    readonly validationError: number;
    readonly validationAccuracy: number;
    /** Ended by --patience before --iterations. */
    readonly stoppedEarly: boolean;
    readonly converged: boolean;
    readonly seconds: number;
    readonly passes: number;
  };
  readonly iterations: readonly IterationRecord[];
  readonly events: readonly EventReport[];
  readonly redistributions: readonly RedistributionRecord[];
  /** Workers that threw, exited or hung, and how their exemplars were reloaded. */
  readonly faults: readonly FaultRecord[];
  /**
   * Readings of agents run with `--load-watch` that caused `load` events (empty without
   * any; absent from reports written before load watching existed).
   */
  readonly loadReadings?: readonly LoadReadingReport[];
  readonly workers: readonly WorkerRecord[];
  readonly states: readonly StateTransition[];
}

export function machineInfo(): RunReport['machine'] {
  return { cpu: cpus()[0]?.model ?? 'unknown', cores: availableParallelism(), node: process.version };
}

export function eventReport(r: EventRecord, replayed: ReadonlySet<number> = new Set()): EventReport {
  const o = r.outcome;
  return {
    seq: r.seq,
    ...(replayed.has(r.seq) ? { replayed: true as const } : {}),
    type: r.event.type,
    host: r.event.host,
    ...(r.event.type === 'load' ? { fraction: r.event.fraction } : {}),
    receivedAt: r.receivedAt,
    appliedAt: o?.status === 'applied' ? o.appliedAt : null,
    outcome: o?.status ?? 'pending',
    ...(o?.status === 'rejected' ? { reason: o.reason } : {}),
    ...(o?.status === 'superseded' ? { supersededBy: o.by } : {}),
    ...(o?.status === 'applied' && o.dataStays !== undefined ? { dataStays: o.dataStays } : {}),
  };
}

/** Write the report whole or not at all (see atomic-file.ts). */
export async function writeReport(path: string, report: RunReport): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(report, null, 2)}\n`);
}
