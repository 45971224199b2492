import { SeededRandom } from '../util/random.ts';
import type { Timers } from './timers.ts';

/** A scheduled step; `cancelled` lets clearTimeout drop it without searching. */
interface Task {
  readonly id: number;
  readonly at: number;
  readonly fn: () => void;
  readonly label: string;
  cancelled: boolean;
}

/** What `setTimeout` returns: an opaque handle. */
export interface VirtualTimer {
  readonly virtualTimer: number;
}

/** Let every promise chain the last step started run as far as it can without time passing. */
export function flushMicrotasks(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * A deterministic clock and scheduler for running a job without threads or real time
 * (tests, simulation). Time stands still until the driver calls `step()`: the earliest
 * pending step runs, its clock reading becomes `now()`, then pending promise reactions are
 * flushed so the coordinator's promise chains move on before the next step. When several
 * steps are due at the same virtual time, one is picked with a seeded RNG: interleavings
 * are part of what a property explores, and a seed replays one exactly.
 *
 * It implements `Timers`, so it is passed to a job as `JobOptions.timers` (with
 * `clock: vt.clock`): the job's deferrals and the pass machine's wait timeout then run on it.
 */
export class VirtualTime implements Timers {
  private time = 0;
  private tasks: Task[] = [];
  private nextId = 1;
  private readonly rng: SeededRandom;
  /** Steps run so far. */
  steps = 0;

  constructor(seed = 1) {
    this.rng = new SeededRandom(seed);
  }

  now(): number {
    return this.time;
  }

  /** `now` as a free function (JobOptions.clock). */
  readonly clock = (): number => this.time;

  setTimeout(fn: () => void, ms: number): VirtualTimer {
    return this.schedule(fn, ms, 'timer');
  }

  clearTimeout(handle: unknown): void {
    const id = (handle as VirtualTimer | null)?.virtualTimer;
    const task = this.tasks.find((t) => t.id === id);
    if (task) task.cancelled = true;
  }

  /** Run `fn` as a step `delayMs` from now (never in the past). */
  schedule(fn: () => void, delayMs: number, label = 'step'): VirtualTimer {
    const delay = Number.isFinite(delayMs) && delayMs > 0 ? delayMs : 0;
    const task: Task = { id: this.nextId++, at: this.time + delay, fn, label, cancelled: false };
    this.tasks.push(task);
    return { virtualTimer: task.id };
  }

  /** Steps waiting to run. */
  get pending(): number {
    this.prune();
    return this.tasks.length;
  }

  /** The virtual time of the next step, or null if none is pending. */
  nextAt(): number | null {
    this.prune();
    let at: number | null = null;
    for (const t of this.tasks) if (at === null || t.at < at) at = t.at;
    return at;
  }

  /**
   * Run the next due step (a seeded choice among those due at the same time), then flush
   * promise reactions. False when nothing was pending (only flushed).
   */
  async step(): Promise<boolean> {
    let at = this.nextAt();
    if (at === null) {
      // Nothing yet: promise chains still running may be about to schedule something.
      await flushMicrotasks();
      at = this.nextAt();
      if (at === null) return false;
    }
    const due = this.tasks.filter((t) => t.at === at);
    const task = due.length === 1 ? due[0] : due[this.rng.int(due.length)];
    this.tasks = this.tasks.filter((t) => t !== task);
    this.time = at;
    this.steps++;
    task.fn();
    await flushMicrotasks();
    return true;
  }

  /**
   * Step until `done()` holds; false if it did not within `maxSteps`, or if nothing is left
   * to run (a stall: whatever is awaited will never happen on this clock).
   */
  async runUntil(done: () => boolean, maxSteps = 100_000): Promise<boolean> {
    for (let k = 0; k < maxSteps; k++) {
      if (done()) return true;
      if (!(await this.step())) {
        // Nothing scheduled: give promise chains a few more turns to schedule something.
        for (let spin = 0; spin < 5 && !done() && this.pending === 0; spin++) await flushMicrotasks();
        if (this.pending === 0) return done();
      }
    }
    return done();
  }

  /** Step until nothing is pending (false if that takes more than `maxSteps`). */
  runUntilIdle(maxSteps = 100_000): Promise<boolean> {
    return this.runUntil(() => this.pending === 0, maxSteps);
  }

  /** Run every step due within `ms` from now, then set the clock to now + ms. */
  async advance(ms: number, maxSteps = 100_000): Promise<boolean> {
    const target = this.time + Math.max(0, ms);
    const ok = await this.runUntil(() => {
      const next = this.nextAt();
      return next === null || next > target;
    }, maxSteps);
    if (ok) this.time = Math.max(this.time, target);
    return ok;
  }

  /** Drive `promise` to its end on this clock; rejects if it stalls or exceeds `maxSteps`. */
  async drive<T>(promise: Promise<T>, maxSteps = 100_000): Promise<T> {
    let settled = false;
    promise.then(
      () => {
        settled = true;
      },
      () => {
        settled = true;
      },
    );
    if (!(await this.runUntil(() => settled, maxSteps))) {
      throw new Error(`VirtualTime.drive: not settled after ${this.steps} steps (stalled or too long)`);
    }
    return promise;
  }

  private prune(): void {
    if (this.tasks.some((t) => t.cancelled)) this.tasks = this.tasks.filter((t) => !t.cancelled);
  }
}
