/**
 * What one property run does to the real AdmJob: the job's set-up, then a script of actions
 * the driver applies between scheduler steps (each step is one chunk, one request start, one
 * copy or one timer on the virtual clock).
 */
import type { FaultKind } from '../../framework/runtime/faults.ts';

/** A scheduler event as sent (possibly malformed: the job must reject those). */
export type RawEvent = { readonly type: string; readonly [k: string]: unknown } | null;

/** Where the pass machine is, as the driver waits for it. */
export type MachineState = 'idle' | 'running' | 'redistributing' | 'recovering' | 'waitingForHost';

export type Action =
  /** Several events at once, in order. `valid[k]` is what the generator meant event k to be. */
  | { readonly kind: 'events'; readonly events: readonly RawEvent[]; readonly valid: readonly boolean[] }
  /** A worker throws on its next request, exits now, or hangs now. */
  | { readonly kind: 'fault'; readonly worker: number; readonly fault: FaultKind }
  /** A worker fails when its next insert, extract or drop starts. */
  | { readonly kind: 'moveFault'; readonly worker: number; readonly fault: FaultKind }
  /** A worker's next reply comes after `ms` of silence (past livenessMs: it is taken as hung). */
  | { readonly kind: 'slow'; readonly worker: number; readonly ms: number }
  /** Let virtual time run `ms` (past deferrals, wait timeouts, liveness limits). */
  | { readonly kind: 'advance'; readonly ms: number };

export interface ScriptStep {
  /** Scheduler steps to run first. */
  readonly gap: number;
  /** Then, if set, step on until the pass machine is in this state (or give up waiting). */
  readonly when: MachineState | null;
  readonly action: Action;
}

export interface Scenario {
  readonly hosts: number;
  /** Declared speeds (what the partition starts from). */
  readonly declared: readonly number[];
  /** The real speeds: exemplars/s of each in-process worker (not emulating), or emulated ratios. */
  readonly rates: readonly number[];
  /** Throttle with the job's own emulation (rate limits, loads slow hosts) instead of base rates. */
  readonly emulate: boolean;
  readonly soloRate: number;
  readonly total: number;
  readonly minIntervalMs: number;
  readonly livenessMs: number;
  readonly waitTimeoutMs: number;
  readonly minGain?: number;
  readonly rebalance: boolean;
  readonly copyBytesPerMs: number;
  readonly maxPasses: number;
  /**
   * Virtual ms the app works between two passes (a line search, a test): events then find the
   * pass machine idle. 0: the next pass starts at once.
   */
  readonly betweenPassesMs?: number;
  readonly script: readonly ScriptStep[];
  /** Seeds the scheduler's choice among steps due at the same virtual time. */
  readonly seed: number;
  /** The host sent `available` when every host is vacated at the end (or after a give-up). */
  readonly returning: number;
  /** After a pass gave up (no host came back), send `available` before the next pass. */
  readonly returnAfterGiveUp: boolean;
}
