/**
 * A stand-in for the global scheduler: plays a trace against a job.
 *
 * - ms-timed entries fire by wall clock, `at.ms` milliseconds after `start()` (less the
 *   `elapsedMs` a resumed run gives it). One
 *   unref'd timer is armed at a time (for the earliest entry not yet sent), so entries
 *   fire in time order, entries with equal `ms` fire together in trace order, an entry
 *   never fires before its time (a timer that wakes early is re-armed for the rest), and
 *   the timer never keeps the process alive. `stop()` clears it.
 * - iteration-timed entries fire when the job calls `onIteration(n)` (n = iterations
 *   completed so far): every entry with `at.iteration ≤ n` not yet sent, ordered by
 *   iteration and, for equal iterations, trace order (the same as trace order when the
 *   trace is sorted by time, and the order the events would have had if `onIteration` had
 *   been called for every n). `start()` counts as `onIteration(0)`, so entries at
 *   iteration 0 fire at the start (before ms-timed entries due at 0 ms).
 * - `send(event)` passes an event straight to the job, for driving from code.
 * - Every trace entry is sent at most once. Entries due together are sent synchronously in
 *   one call; if the job calls `stop()` from its `send`, the rest of them are not sent.
 *
 * If the job's `send` throws, the other events due at the same time still go out; the error
 * goes to `options.onError` if given, and is rethrown otherwise (after those events, and
 * after the next timer is armed; from a timer, that is an uncaught exception: the job's
 * `send` should not throw; EventQueue.receive never does).
 */
import type { SchedulerEvent } from '../framework/events/types.ts';
import type { Trace, TraceEntry } from './trace.ts';

/** What the scheduler needs from a job. */
export interface EventSink {
  send(event: SchedulerEvent): void;
  /** Events due at the same moment, acted on together (a job's `sendTogether`), if it can. */
  sendTogether?(events: readonly SchedulerEvent[]): void;
}

export interface TraceSchedulerOptions {
  /** Called after each event is handed to the job; `entry` is undefined for `send()` pass-through. */
  readonly onSend?: (event: SchedulerEvent, entry: TraceEntry | undefined) => void;
  /** Receives errors thrown by the job's `send` (default: rethrow). */
  readonly onError?: (error: unknown, event: SchedulerEvent) => void;
  /** Clock in ms, for tests (default `performance.now`). */
  readonly now?: () => number;
}

/** Where a resumed run takes up its trace (`TraceScheduler.start`). */
export interface ResumePoint {
  /** Time already run, ms on the run's clock. */
  readonly elapsedMs: number;
  /** Iterations complete at the checkpoint. */
  readonly iterations: number;
  /** When iteration `n` (1 … iterations) completed, ms on the run's clock. */
  iterationMs(n: number): number;
}

/** setTimeout's largest delay; longer waits are re-armed in steps. */
const MAX_DELAY = 2_147_483_647;

export class TraceScheduler {
  private readonly msEntries: readonly TraceEntry[];
  private readonly iterationEntries: readonly TraceEntry[];
  private readonly now: () => number;
  private msNext = 0;
  private iterationNext = 0;
  private sent = 0;
  private startedAt: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private isStopped = false;

  constructor(
    readonly trace: Trace,
    private readonly job: EventSink,
    private readonly options: TraceSchedulerOptions = {},
  ) {
    this.now = options.now ?? (() => performance.now());
    const indexed = trace.events.map((entry, index) => ({ entry, index }));
    const byTime = (key: (e: TraceEntry) => number) =>
      indexed
        .filter(({ entry }) => Number.isFinite(key(entry)))
        .sort((a, b) => key(a.entry) - key(b.entry) || a.index - b.index)
        .map(({ entry }) => entry);
    this.msEntries = byTime((e) => ('ms' in e.at ? e.at.ms : Number.NaN));
    this.iterationEntries = byTime((e) => ('iteration' in e.at ? e.at.iteration : Number.NaN));
  }

  /**
   * Start the wall clock for ms-timed entries and fire the entries at iteration 0 (and any
   * at 0 ms). Call once. With `resume` (a run continued from a checkpoint), the clock starts
   * `elapsedMs` in, and every entry already past — ms-timed ones due by then, iteration-timed
   * ones up to `iterations` — fires at once, together, in the order they first fired (an
   * iteration's entries at the time it completed, `iterationMs`); the rest at their times.
   */
  start(resume?: ResumePoint): void {
    if (this.isStopped) throw new Error('TraceScheduler.start: the scheduler was stopped');
    if (this.startedAt !== undefined) throw new Error('TraceScheduler.start: already started');
    const elapsedMs = resume?.elapsedMs ?? 0;
    if (!(Number.isFinite(elapsedMs) && elapsedMs >= 0))
      throw new RangeError(`TraceScheduler.start: elapsedMs = ${elapsedMs}; give the ms already run (≥ 0)`);
    this.startedAt = this.now() - elapsedMs;
    let firstError: { error: unknown } | undefined;
    try {
      if (resume === undefined) this.onIteration(0);
      else this.replay(resume);
    } catch (error) {
      firstError = { error };
    }
    this.arm();
    if (firstError !== undefined) throw firstError.error;
  }

  /** The entries a resumed run had passed, at once, in the order they first fired. */
  private replay(resume: ResumePoint): void {
    const past: { entry: TraceEntry; at: number; rank: number }[] = [];
    while (this.msNext < this.msEntries.length) {
      const entry = this.msEntries[this.msNext];
      if (!('ms' in entry.at) || entry.at.ms > resume.elapsedMs) break;
      past.push({ entry, at: entry.at.ms, rank: past.length });
      this.msNext++;
    }
    while (this.iterationNext < this.iterationEntries.length) {
      const entry = this.iterationEntries[this.iterationNext];
      if (!('iteration' in entry.at) || entry.at.iteration > resume.iterations) break;
      const n = entry.at.iteration;
      past.push({ entry, at: n === 0 ? Number.NEGATIVE_INFINITY : resume.iterationMs(n), rank: past.length });
      this.iterationNext++;
    }
    past.sort((a, b) => a.at - b.at || a.rank - b.rank);
    const errors: unknown[] = [];
    this.deliverTogether(
      past.map((p) => p.entry),
      errors,
    );
    if (errors.length > 0) throw errors[0];
  }

  /** Stop for good: clear the timer; no further trace entry fires (`send` still passes through). */
  stop(): void {
    this.isStopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /**
   * The job has completed `n` iterations: fire every iteration-timed entry with
   * `at.iteration ≤ n` not yet sent. Returns how many fired (0 after `stop()`).
   */
  onIteration(n: number): number {
    if (typeof n !== 'number' || Number.isNaN(n)) {
      throw new RangeError(`TraceScheduler.onIteration: n = ${String(n)}; give the iterations completed`);
    }
    const errors: unknown[] = [];
    const due: TraceEntry[] = [];
    let count = 0;
    while (!this.isStopped && this.iterationNext < this.iterationEntries.length) {
      const entry = this.iterationEntries[this.iterationNext];
      if (!('iteration' in entry.at) || entry.at.iteration > n) break;
      this.iterationNext++;
      if (this.job.sendTogether) due.push(entry);
      else this.deliver(entry.event, entry, errors);
      count++;
    }
    this.deliverTogether(due, errors);
    if (errors.length > 0) throw errors[0];
    return count;
  }

  /** Pass an event straight to the job (counts in `sentCount`). */
  send(event: SchedulerEvent): void {
    const errors: unknown[] = [];
    this.deliver(event, undefined, errors);
    if (errors.length > 0) throw errors[0];
  }

  /** Events handed to the job so far: trace entries and pass-through `send`s. */
  get sentCount(): number {
    return this.sent;
  }

  /** Trace entries not yet sent. */
  get remaining(): number {
    return this.msEntries.length - this.msNext + this.iterationEntries.length - this.iterationNext;
  }

  /** True when every trace entry has been sent. */
  get done(): boolean {
    return this.remaining === 0;
  }

  get started(): boolean {
    return this.startedAt !== undefined;
  }

  get stopped(): boolean {
    return this.isStopped;
  }

  private arm(): void {
    this.timer = undefined;
    if (this.isStopped || this.startedAt === undefined || this.msNext >= this.msEntries.length) return;
    const elapsed = this.now() - this.startedAt;
    const errors: unknown[] = [];
    const due: TraceEntry[] = [];
    while (!this.isStopped && this.msNext < this.msEntries.length) {
      const entry = this.msEntries[this.msNext];
      if (!('ms' in entry.at) || entry.at.ms > elapsed) break;
      this.msNext++;
      if (this.job.sendTogether) due.push(entry);
      else this.deliver(entry.event, entry, errors);
    }
    this.deliverTogether(due, errors);
    // Arm the next timer before rethrowing, so an error thrown by the job cannot stop
    // later entries. (The job may have called stop(), or re-entered; check again.)
    if (!this.isStopped && this.timer === undefined && this.msNext < this.msEntries.length) {
      const next = this.msEntries[this.msNext].at;
      const wait = ('ms' in next ? next.ms : 0) - (this.now() - this.startedAt);
      this.schedule(Math.min(Math.max(Math.ceil(wait), 0), MAX_DELAY));
    }
    if (errors.length > 0) throw errors[0];
  }

  private schedule(delay: number): void {
    const timer = setTimeout(() => this.arm(), delay);
    timer.unref();
    this.timer = timer;
  }

  /**
   * Hand the entries due now to a job that takes events together (`vacate big` for each of
   * an agent's workers must not move rows between them); a single one as usual. (A job
   * without `sendTogether` gets each as it comes, and may stop the rest.)
   */
  private deliverTogether(due: readonly TraceEntry[], errors: unknown[]): void {
    const together = this.job.sendTogether?.bind(this.job);
    if (due.length < 2 || together === undefined) {
      for (const entry of due) this.deliver(entry.event, entry, errors);
      return;
    }
    this.sent += due.length;
    this.attempt(due[0].event, errors, () => {
      together(due.map((e) => e.event));
      for (const entry of due) this.options.onSend?.(entry.event, entry);
    });
  }

  /** Hand one event to the job. */
  private deliver(event: SchedulerEvent, entry: TraceEntry | undefined, errors: unknown[]): void {
    this.sent++;
    this.attempt(event, errors, () => {
      this.job.send(event);
      this.options.onSend?.(event, entry);
    });
  }

  /** Run `hand` (a delivery); an error goes to `onError`, or is pushed on `errors` to rethrow. */
  private attempt(event: SchedulerEvent, errors: unknown[], hand: () => void): void {
    try {
      hand();
    } catch (error) {
      if (this.options.onError === undefined) errors.push(error);
      else {
        try {
          this.options.onError(error, event);
        } catch (again) {
          errors.push(again);
        }
      }
    }
  }
}
