/**
 * What coordinators and agents say to each other. Every connection opens with `Hello` and
 * is answered with `Welcome` or `Refused` (then closed). Three kinds of connection:
 *
 * - `job`: one per agent, the job's control channel. It claims the agent for one job, and
 *   carries only small frames: heartbeats both ways, stop requests, rate limits and load
 *   readings (`--load-watch`). It never waits behind a data batch, which is why it is a
 *   connection of its own.
 * - `worker`: one per worker the agent hosts, for that worker's requests (insert, extract,
 *   pass, …) one at a time, in order: the in-order rule of `WorkerLink` holds because the
 *   connection is a queue and the agent serves it one request at a time.
 * - `probe`: asks an agent who it is (name, workers, speed, memory cap), then closes.
 * - `peer`: another agent of the same job, streaming one direct move to one of its workers.
 *
 * A message is one JSON frame, then `bodies` binary frames (exemplars as Arrow IPC streams,
 * parameters and accumulators as raw little-endian Float64 bytes).
 */
import { isValidFraction } from '../events/validate.ts';
import type { FaultPlan } from '../runtime/faults.ts';

/**
 * `dismiss`: the agent is not needed (its `job` field says why); only agents started to
 * serve one known job (admove slurm's tasks) accept it, and only while no job runs.
 */
export type Role = 'job' | 'worker' | 'probe' | 'peer' | 'dismiss';

export interface Hello {
  readonly type: 'hello';
  readonly version: string;
  readonly role: Role;
  /** Names the job: a worker connection belongs to the job its agent is claimed by. */
  readonly job: string;
  /** For `worker`: which of the agent's worker slots (0-based). */
  readonly slot?: number;
  /** For `worker`: a fault to inject in it (tests and `--inject-fault`). */
  readonly fault?: FaultPlan;
}

export interface AgentInfo {
  readonly name: string;
  readonly version: string;
  /** Worker threads the agent hosts: hosts NAME (one) or NAME.0 … NAME.{n-1}. */
  readonly workers: number;
  /** Declared speed from the agent's `--speed` (1 if not given). */
  readonly speed: number;
  /** Exemplar bytes the agent accepts in all (null: no cap). */
  readonly maxMemory: number | null;
}

export interface Welcome extends AgentInfo {
  readonly type: 'welcome';
}

export interface Refused {
  readonly type: 'refused';
  readonly reason: string;
}

/** Sent on the job connection right after `Welcome`: how the job's workers run. */
export interface JobSetup {
  readonly type: 'setup';
  /** A portable kernel specifier (`admove:apps/opt/model/kernel`, or a package specifier). */
  readonly kernel: string;
  readonly kernelConfig: unknown;
  /** The job's liveness limit: each side drops the other after this long without a heartbeat. */
  readonly livenessMs: number;
  /**
   * The job's other agents, as the coordinator reaches them: the agent connects to each once
   * the job computes, so a move to one of them finds a peer connection open (agent/peer-links.ts).
   */
  readonly peers?: readonly { readonly host: string; readonly port: number }[];
}

/**
 * An agent started with `--load-watch` tells its coordinator, on the job connection, that
 * the share of its cores left for the job has changed (and stayed changed): the coordinator
 * turns it into a `load` event for each of the agent's hosts.
 */
export interface LoadReading {
  readonly type: 'load-reading';
  /** The fraction of its cores left for the job, in (0, 1]: a `load` event's fraction. */
  readonly fraction: number;
  /** The fraction of those cores other processes took (busy time minus the agent's own), [0, 1]. */
  readonly othersShare: number;
  /** The cores watched: those the agent may run on. */
  readonly cores: readonly number[];
  /** CPU pressure when the change was told (`some avg10`, %) and the file it was read from. */
  readonly pressure: { readonly someAvg10: number; readonly source: string } | null;
  /** Readings averaged into `fraction` and `othersShare`, and how long they lasted (ms). */
  readonly samples: number;
  readonly heldMs: number;
}

/** Small frames on the job connection. */
export type ControlMessage =
  | { readonly type: 'beat'; readonly chunks?: readonly number[] }
  | { readonly type: 'stop'; readonly slot: number; readonly pass: number }
  | { readonly type: 'rate'; readonly slot: number; readonly rate: number }
  | { readonly type: 'ready' }
  | LoadReading;

/** Heartbeats go out this often; a peer silent for the liveness limit is dropped. */
export const BEAT_MS = 200;

/** One request on a worker connection (bodies follow as binary frames). */
export type WorkerCall =
  | { readonly op: 'insert'; readonly dim: number; readonly rows: number; readonly bytes: number }
  | { readonly op: 'extract'; readonly counts: readonly number[] }
  | {
      readonly op: 'pass';
      readonly seq: number;
      readonly fresh: boolean;
      readonly chunkRows: number;
      readonly checkStop: boolean;
    }
  | { readonly op: 'calibrate'; readonly ms: number }
  | { readonly op: 'ids' }
  | { readonly op: 'drop' };

/** How a request failed, as the agent's own link classified it. */
export type CallFailure =
  | {
      readonly type: 'fault';
      readonly failure: 'threw' | 'exited' | 'hung';
      readonly during: string;
      readonly detail: string;
      readonly kernelError: string | null;
    }
  | { readonly type: 'bug'; readonly message: string }
  | { readonly type: 'refused'; readonly message: string };

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A load reading as received; null if the header is not a well-formed one. */
export function asLoadReading(h: Readonly<Record<string, unknown>>): LoadReading | null {
  if (h.type !== 'load-reading' || !isValidFraction(h.fraction)) return null;
  const share = h.othersShare;
  if (!(typeof share === 'number' && share >= 0 && share <= 1)) return null;
  if (!(Array.isArray(h.cores) && h.cores.every((c) => Number.isInteger(c) && c >= 0))) return null;
  if (!(Number.isInteger(h.samples) && (h.samples as number) >= 1)) return null;
  if (!(typeof h.heldMs === 'number' && Number.isFinite(h.heldMs) && h.heldMs >= 0)) return null;
  const p = h.pressure;
  let pressure: LoadReading['pressure'] = null;
  if (p !== null) {
    if (!(isObject(p) && typeof p.someAvg10 === 'number' && typeof p.source === 'string')) return null;
    pressure = { someAvg10: p.someAvg10, source: p.source };
  }
  return {
    type: 'load-reading',
    fraction: h.fraction,
    othersShare: share,
    cores: (h.cores as number[]).slice(),
    pressure,
    samples: h.samples as number,
    heldMs: h.heldMs,
  };
}
