import type { DrainResult } from '../events/event-queue.ts';
import { partitionBySpeed } from '../partition/target-shares.ts';
import { DEFAULT_MIN_GAIN, shouldRedistribute } from '../partition/transfer-plan.ts';
import type { JobState } from './job-state.ts';
import type { Timers } from './timers.ts';

/** Passes in a row whose measured speeds must call for a rebalance before data moves for speed alone. */
const REBALANCE_STREAK = 3;
/** The most measurement noise can raise the gain a speed-alone rebalance needs. */
const NOISY_GAIN_CAP = 0.3;

/**
 * When an ADM job moves data: pending scheduler events interrupt the pass at once if they
 * are urgent (a vacate) or enough compute has passed since the last move, and are deferred
 * otherwise; with no event, the measured speeds may call for a rebalance.
 */
export class RedistributionTiming {
  /** A deferred interrupt for events that may wait (see `minIntervalMs`). */
  private deferred: unknown = null;
  private nextRedistributionAt = 0;
  /** A vacate is pending: it does not wait for `minIntervalMs`. */
  private urgent = false;
  /** Complete passes in a row after which the measured speeds called for a rebalance. */
  private gainStreak = 0;

  constructor(
    private readonly state: JobState,
    private readonly timers: Timers,
    /** Tell the running pass (if any) that events are to be applied now. */
    private readonly signalPass: () => void,
  ) {}

  /** A vacate came in: it is applied at once, without waiting for a quiet moment. */
  vacateReceived(): void {
    this.urgent = true;
  }

  /** A vacate is pending: between passes it is applied at once, not at the next pass. */
  get vacateDue(): boolean {
    return this.urgent && this.state.queue.pending;
  }

  /** Pending events that should be applied now: a vacate, or enough compute since the last move. */
  mayRedistribute(): boolean {
    const { queue, available, options } = this.state;
    if (!queue.pending) return false;
    return this.urgent || available.every((a) => !a) || options.clock() >= this.nextRedistributionAt;
  }

  /**
   * At a pass boundary with no event pending: should data move for speed alone? Yes when a
   * host that is no longer available still holds data (a move failed part way), or when the
   * partition from the measured speeds would have made passes faster by `minGain` at
   * the end of `REBALANCE_STREAK` passes in a row — so one noisy measurement on a busy machine
   * does not move data. This is how a host slowed by something the scheduler never reported
   * (another user's process) loses data without an event.
   */
  rebalanceWanted(): boolean {
    const { held, available, options } = this.state;
    if (held.some((n, i) => n > 0 && !available[i]) && available.some((a) => a)) return true;
    return this.gainStreak >= REBALANCE_STREAK && options.clock() >= this.nextRedistributionAt;
  }

  /** After a complete pass: would the measured speeds' partition be clearly faster? Counts the streak. */
  measureGain(): void {
    const { options, estimator, held } = this.state;
    if (options.rebalance === false) return;
    const capacities = this.state.capped(estimator.capacities(this.state.available));
    let gain = false;
    try {
      const targets = partitionBySpeed(options.train.count, capacities, held);
      // A gain within twice what one measurement strays is not evidence: on short passes
      // (the SIMD kernel, two equal workers beside the coordinator) the measured speeds scatter
      // by several percent, and data moved back and forth after them made passes slower. A
      // gain of NOISY_GAIN_CAP or more is acted on however noisy the machine (a host really
      // four times slower must still lose data on a busy machine).
      const noise = Math.max(0, ...held.map((n, i) => (n > 0 ? estimator.noise(i) : 0)));
      const minGain = Math.max(options.minGain ?? DEFAULT_MIN_GAIN, Math.min(NOISY_GAIN_CAP, 2 * noise));
      gain = shouldRedistribute(held, targets, capacities, { minGain }).redistribute;
    } catch {
      gain = false;
    }
    this.gainStreak = gain ? this.gainStreak + 1 : 0;
  }

  /** Data moved: the passes calling for a rebalance are counted afresh. */
  restartGainStreak(): void {
    this.gainStreak = 0;
  }

  /**
   * A redistribution that started at `startedAt` just ended: events that may wait are applied
   * after `minIntervalMs`, or four times as long as it took if that is longer.
   */
  redistributed(startedAt: number): void {
    const end = this.state.options.clock();
    this.nextRedistributionAt =
      end + Math.max(this.state.options.minIntervalMs ?? 100, 4 * (end - startedAt));
  }

  deferInterrupt(): void {
    if (this.deferred !== null) return;
    this.deferred = this.timers.setTimeout(
      () => {
        this.deferred = null;
        // A redistribution may have happened meanwhile and moved the next allowed time.
        if (this.mayRedistribute()) this.interrupt();
        else if (this.state.queue.pending) this.deferInterrupt();
      },
      Math.max(0, this.nextRedistributionAt - this.state.options.clock()),
    );
    // A pending deferral alone never keeps the process alive.
    (this.deferred as { unref?: () => void }).unref?.();
  }

  interrupt(): void {
    if (this.deferred !== null) this.timers.clearTimeout(this.deferred);
    this.deferred = null;
    this.signalPass();
  }

  /** Apply every pending event to the hosts' availability and loads. */
  applyEvents(now: number): DrainResult {
    const { queue, hostList, available, lost, loads, estimator, vacatedAt, vacateDeadlines } = this.state;
    const drain = queue.drain(now);
    this.urgent = false;
    for (const r of drain.applied) {
      const e = r.event;
      const i = hostList.findIndex((h) => h.name === e.host);
      if (e.type === 'available') {
        vacatedAt[i] = null;
        vacateDeadlines[i] = null;
      } else if (e.type === 'vacate') {
        // A vacate of a host already vacated: the request stands since the first, and the
        // sooner of their deadlines.
        vacatedAt[i] ??= r.receivedAt;
        if (e.deadlineMs !== undefined) {
          const deadlineAt = r.receivedAt + e.deadlineMs;
          const before = vacateDeadlines[i];
          if (before === null || deadlineAt < before.deadlineAt)
            vacateDeadlines[i] = { worker: i, host: e.host, deadlineMs: e.deadlineMs, deadlineAt };
        }
      }
    }
    hostList.forEach((h, i) => {
      const state = drain.states.get(h.name)!;
      available[i] = state.available && !lost[i];
      if (state.load !== loads[i]) {
        loads[i] = state.load;
        estimator.setLoad(i, state.load);
      }
    });
    return drain;
  }

  /** The job closes: no deferred interrupt is left behind. */
  close(): void {
    if (this.deferred !== null) this.timers.clearTimeout(this.deferred);
  }
}
