import type { EventRecord, SchedulerEvent } from '../events/types.ts';
import type { ExemplarColumns } from '../exemplars/columns.ts';
import type { FaultPlan, FaultRecord } from './faults.ts';
import type { RedistributionRecord, StateTransition, WorkerRecord } from './report-types.ts';
import type { HostSpec } from './start-workers.ts';
import type { Timers } from './timers.ts';
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
  /**
   * Cores the emulated hosts may use together (default: every core of this machine). Less
   * than all leaves the rest to the coordinator and the scheduler's wake-ups: hosts whose
   * caps add up to nearly every core were measured below their caps while all computed.
   */
  readonly emulationCores?: number;
  /** Rebalance at pass boundaries on measured speeds alone, without an event (default true). */
  readonly rebalance?: boolean;
  /**
   * Apply a vacate (without a deadline) while the workers compute, when the transport can:
   * the vacated workers hand their rows straight to the others at their next chunk boundary
   * and nobody stops (default true; threads and in-process workers can, TCP agents cannot;
   * jobs of more than 8 workers per core stop instead, for a receiver would wait for a core).
   * False stops every worker at its next chunk and moves the rows between two slices.
   */
  readonly handOffWhileComputing?: boolean;
  /** How workers are started (default: threads on this machine). */
  readonly transport?: WorkerTransport;
  /** How long to wait for a host when every host is vacated (default 60 s). */
  readonly waitTimeoutMs?: number;
  /** Minimum estimated gain before data moves for speed alone (default 5 %). */
  readonly minGain?: number;
  /**
   * Least time (wall clock, from its end) between a redistribution and the next one caused by
   * `load` or `available` events (default 100 ms, or 4× the last redistribution if longer):
   * under an event storm the job keeps computing instead of thrashing. `vacate` never waits.
   */
  readonly minIntervalMs?: number;
  /**
   * Compute time a chunk aims at (default 0.25 ms): a stop waits for the chunk in progress, so
   * shorter chunks answer events sooner, at a small cost per chunk (ADM only; at least 16 rows).
   */
  readonly chunkMs?: number;
  /**
   * A worker silent this long (no chunk done, no reply) is taken as hung (default 3000 ms).
   * Over agents, heartbeats go both ways every 200 ms (`BEAT_MS`): under about a second, a
   * process busy for a moment (a garbage collection) is taken for a hung one.
   */
  readonly livenessMs?: number;
  /**
   * Aborting it cancels a wait for a host (every host vacated): the pass then rejects with
   * `JobInterrupted` at once instead of after `waitTimeoutMs`. Computing and moves finish first.
   */
  readonly signal?: AbortSignal;
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
  /** Events that happen together (one iteration's, an agent's workers'): queued, then acted on once. */
  sendTogether(events: readonly SchedulerEvent[]): EventRecord[];
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
  /**
   * Hosts join the running job and take their shares, together, like hosts made available
   * (ADM only; resolves with their `available` events' records). Rejects, adding none, if a
   * name is taken or a worker cannot start.
   */
  addHosts?(hosts: readonly HostSpec[]): Promise<EventRecord[]>;
  /**
   * Vacated, empty hosts leave the job for good (ADM only): later events for them are refused.
   * Throws, in one line, if one is not vacated or still holds exemplars; then none leaves.
   */
  retire?(hosts: readonly string[]): void;
  /** Exemplar ids each worker holds, asked of the workers themselves (an audit). */
  heldIds(): Promise<Int32Array[]>;
  close(): Promise<void>;
}
