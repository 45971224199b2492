/**
 * A stand-in for the global scheduler: plays a trace against a job.
 *
 * - ms-timed entries fire by wall clock, `at.ms` milliseconds after `start()`. One
 *   unref'd timer is armed at a time (for the earliest entry not yet sent), so entries
 *   fire in time order, entries with equal `ms` fire together in trace order, an entry
 *   never fires before its time (a timer that wakes early is re-armed for the rest), and
 *   the timer never keeps the process alive. `stop()` clears it.
 * - iteration-timed entries fire when the job calls `onIteration(n)` (n = iterations
 *   completed so far): every entry with `at.iteration ≤ n` not yet sent, ordered by
 *   iteration and, for equal iterations, trace order (the same as trace order when the
 *   trace is sorted by time, and the order the events would have had if `onIteration` had
 *   been called for every n).
 * - `send(event)` passes an event straight to the job, for driving from code.
 *
 * If the job's `send` throws, the other events of the same batch still go out; the error
 * goes to `options.onError` if given, and is rethrown otherwise (from a timer, that is an
 * uncaught exception: the job's `send` should not throw; EventQueue.receive never does).
 */
import type { SchedulerEvent } from '../framework/events/types.ts';
import type { Trace, TraceEntry } from './trace.ts';

/** What the scheduler needs from a job. */
export interface EventSink {
  send(event: SchedulerEvent): void;
}

export interface TraceSchedulerOptions {
  /** Called after each event is handed to the job; `entry` is undefined for `send()` pass-through. */
  readonly onSend?: (event: SchedulerEvent, entry: TraceEntry | undefined) => void;
  /** Receives errors thrown by the job's `send` (default: rethrow). */
  readonly onError?: (error: unknown, event: SchedulerEvent) => void;
  /** Clock in ms, for tests (default `performance.now`). */
  readonly now?: () => number;
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

  /** Start the wall clock for ms-timed entries. Call once. */
  start(): void {
    if (this.isStopped) throw new Error('TraceScheduler.start: the scheduler was stopped');
    if (this.startedAt !== undefined) throw new Error('TraceScheduler.start: already started');
    this.startedAt = this.now();
    this.arm();
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
    if (this.isStopped) return 0;
    const batch: TraceEntry[] = [];
    while (this.iterationNext < this.iterationEntries.length) {
      const entry = this.iterationEntries[this.iterationNext];
      if (!('iteration' in entry.at) || entry.at.iteration > n) break;
      batch.push(entry);
      this.iterationNext++;
    }
    this.fire(batch);
    return batch.length;
  }

  /** Pass an event straight to the job (counts in `sentCount`). */
  send(event: SchedulerEvent): void {
    this.deliver([{ event, entry: undefined }]);
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
    const batch: TraceEntry[] = [];
    while (this.msNext < this.msEntries.length) {
      const entry = this.msEntries[this.msNext];
      if (!('ms' in entry.at) || entry.at.ms > elapsed) break;
      batch.push(entry);
      this.msNext++;
    }
    if (batch.length > 0) {
      // Arm the next timer (asynchronously) before handing out this batch, so an error
      // thrown by the job cannot stop later entries.
      if (this.msNext < this.msEntries.length) this.schedule(0);
      this.fire(batch);
      return;
    }
    const next = this.msEntries[this.msNext].at;
    const wait = ('ms' in next ? next.ms : 0) - elapsed;
    this.schedule(Math.min(Math.ceil(wait), MAX_DELAY));
  }

  private schedule(delay: number): void {
    const timer = setTimeout(() => this.arm(), delay);
    timer.unref();
    this.timer = timer;
  }

  private fire(batch: readonly TraceEntry[]): void {
    this.deliver(batch.map((entry) => ({ event: entry.event, entry })));
  }

  private deliver(items: readonly { event: SchedulerEvent; entry: TraceEntry | undefined }[]): void {
    let firstError: { error: unknown } | undefined;
    for (const { event, entry } of items) {
      this.sent++;
      try {
        this.job.send(event);
        this.options.onSend?.(event, entry);
      } catch (error) {
        if (this.options.onError !== undefined) this.options.onError(error, event);
        else firstError ??= { error };
      }
    }
    if (firstError !== undefined) throw firstError.error;
  }
}
