/** Host names: `h0 … h(N-1)` for thread workers. */
export type HostName = string;

/**
 * What the global scheduler can tell a job (ADM paper §2.3):
 * - vacate: the owner reclaims the host; all its data must leave.
 * - available: the host may take work again.
 * - load: the host now runs at `fraction` (0 < fraction ≤ 1) of its speed.
 */
export type SchedulerEvent =
  | {
      readonly type: 'vacate';
      readonly host: HostName;
      /** The owner's notice: the host's data must be off within this many ms of receipt. */
      readonly deadlineMs?: number;
    }
  | { readonly type: 'available'; readonly host: HostName }
  | { readonly type: 'load'; readonly host: HostName; readonly fraction: number };

export type SchedulerEventType = SchedulerEvent['type'];

/** What finally happened to one received event; every event ends in exactly one of these. */
export type EventOutcome =
  | {
      readonly status: 'applied';
      readonly appliedAt: number;
      /**
       * A vacate applied while the data had nowhere to go (every other host vacated, or full
       * under its memory cap): why, as the job said then. The host computes no more, but its
       * exemplars stay on it until some host has room for them (or the job gives up,
       * `--wait-timeout`). Kept as it was said: the record does not change when they leave.
       */
      readonly dataStays?: string;
    }
  | { readonly status: 'superseded'; readonly by: number; readonly at: number }
  | { readonly status: 'rejected'; readonly reason: string; readonly at: number };

/** One event as the job received it, with its sequence number and fate. */
export interface EventRecord {
  readonly seq: number;
  readonly event: SchedulerEvent;
  /** Milliseconds since the run started. */
  readonly receivedAt: number;
  outcome?: EventOutcome;
}
