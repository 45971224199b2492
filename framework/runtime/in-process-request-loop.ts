import { classifyWorkerError, type FaultKind, WorkerFault } from './faults.ts';
import type { InProcessObserver } from './in-process-transport.ts';
import type { InProcessWorker } from './in-process-worker.ts';
import type { VirtualTime, VirtualTimer } from './virtual-time.ts';

export type RequestKind = 'insert' | 'extract' | 'pass' | 'calibrate' | 'ids' | 'drop';

const MOVES: ReadonlySet<RequestKind> = new Set(['insert', 'extract', 'drop']);

/** A fault the worker itself raises (the in-process analogue of a thread's exit or hang). */
export class Injected extends Error {
  constructor(readonly kind: FaultKind) {
    super(`injected fault: ${kind}`);
  }
}

interface InService {
  readonly kind: RequestKind;
  readonly limitMs: number;
  readonly reject: (fault: WorkerFault) => void;
  watch: VirtualTimer | null;
}

/** A sleep that `stop()` may cut short (a throttled worker between chunks). */
interface Sleeper {
  handle: VirtualTimer;
  readonly wake: () => void;
}

/** What the request loop needs of its worker beyond the worker's public face. */
export interface RequestLoopHooks {
  /** Give up on the worker (a fault): every later call fails with it. */
  readonly giveUp: (fault: WorkerFault) => void;
  /** A request finished: mail that came during it may be read once the worker is idle. */
  readonly served: () => void;
}

/**
 * An in-process worker's requests, on the virtual clock: served one at a time in the order
 * they were made (the in-order rule), each watched by the liveness rule, with the virtual
 * sleeps a request's work takes (a chunk, a copy) declared as signs of life.
 */
export class RequestLoop {
  /** Requests made and not yet finished, in order (the one in service first). */
  private readonly queued: RequestKind[] = [];
  /** The end of the FIFO: the next request starts when this settles (in-order rule). */
  private tail: Promise<void> = Promise.resolve();
  private current: InService | null = null;
  /** The kind of the request last taken into service (it outlives `current` on a give-up). */
  private serving: RequestKind = 'ids';
  private lastProgressAt = 0;
  /** Virtual time until which the worker declared it is busy (a chunk, a copy). */
  private sleepingUntil = 0;
  private sleeper: Sleeper | null = null;
  private hung = false;

  constructor(
    private readonly worker: InProcessWorker,
    private readonly time: VirtualTime,
    private readonly observer: InProcessObserver,
    private readonly hooks: RequestLoopHooks,
  ) {
    this.lastProgressAt = this.time.now();
  }

  /** The kind of the request last taken into service. */
  get servingKind(): RequestKind {
    return this.serving;
  }

  /** The kind of the request in service, or null. */
  get currentKind(): RequestKind | null {
    return this.current?.kind ?? null;
  }

  /** No request is in service or waiting. */
  get idle(): boolean {
    return this.current === null && this.queued.length === 0;
  }

  /** An insert, extract or drop is queued or in service. */
  get movesQueued(): boolean {
    return this.queued.some((k) => MOVES.has(k));
  }

  get busyRequests(): readonly RequestKind[] {
    return this.queued;
  }

  get isHung(): boolean {
    return this.hung;
  }

  /** Stop doing anything, without a word: only the liveness rule can tell. */
  hang(): void {
    this.hung = true;
    this.sleepingUntil = 0;
  }

  /** A sign of life now (a chunk done, rows moved). */
  progressed(): void {
    this.lastProgressAt = this.time.now();
  }

  /** Wake a throttled worker, as Atomics.notify does for a thread. */
  wakeEarly(): void {
    const s = this.sleeper;
    if (s !== null && !this.hung) {
      this.time.clearTimeout(s.handle);
      s.handle = this.time.schedule(s.wake, 0, `w${this.worker.index}:woken`);
    }
  }

  /** The worker was given up on: the request in service fails with `fault`. */
  abandon(fault: WorkerFault): void {
    const service = this.current;
    this.current = null;
    if (service !== null) {
      if (service.watch !== null) this.time.clearTimeout(service.watch);
      service.reject(fault);
    }
  }

  /** In-order rule: `body` starts when every earlier request has finished or failed. */
  enqueue<T>(kind: RequestKind, limitMs: number, body: () => Promise<T>): Promise<T> {
    this.queued.push(kind);
    const result = this.tail.then(() => this.serve(kind, limitMs, body));
    const done = () => {
      this.queued.shift();
    };
    this.tail = result.then(done, done);
    return result;
  }

  private serve<T>(kind: RequestKind, limitMs: number, body: () => Promise<T>): Promise<T> {
    const w = this.worker;
    if (w.fault) return Promise.reject(w.fault);
    return new Promise<T>((resolve, reject) => {
      const service: InService = { kind, limitMs, reject, watch: null };
      this.current = service;
      this.serving = kind;
      this.lastProgressAt = this.time.now();
      this.watch(service, limitMs);
      const finish = () => {
        if (service.watch !== null) this.time.clearTimeout(service.watch);
        if (this.current === service) this.current = null;
        this.hooks.served(); // mail that came during this request is read once the worker is idle
      };
      body().then(
        (value) => {
          finish();
          if (w.fault) {
            this.observer.lateReply?.(w, kind);
            reject(w.fault);
          } else resolve(value);
        },
        (error: unknown) => {
          finish();
          if (w.fault) {
            reject(w.fault);
            return;
          }
          const message = error instanceof Error ? error.message : String(error);
          const outcome = classifyWorkerError(w.index, w.host, kind, message);
          if (!(error instanceof Injected) && outcome.name !== 'WorkerFault')
            this.observer.unexpected?.(w, error);
          if (outcome instanceof WorkerFault) this.hooks.giveUp(outcome);
          reject(outcome);
        },
      );
    });
  }

  /**
   * The liveness rule on the virtual clock: while a request is in service, a worker that
   * neither progressed nor declared a sleep for `limitMs` is given up on as hung.
   */
  private watch(service: InService, delayMs: number): void {
    const w = this.worker;
    service.watch = this.time.schedule(
      () => {
        service.watch = null;
        if (this.current !== service || w.fault) return;
        const now = this.time.now();
        if (now < this.sleepingUntil) {
          this.watch(service, this.sleepingUntil - now + service.limitMs);
          return;
        }
        const quiet = now - this.lastProgressAt;
        // A hair of slack: virtual times are sums of floats.
        if (quiet >= service.limitMs - 1e-9) {
          this.hooks.giveUp(
            new WorkerFault(
              w.index,
              w.host,
              'hung',
              service.kind,
              `no sign of life for ${service.limitMs} ms`,
            ),
          );
        } else this.watch(service, service.limitMs - quiet);
      },
      delayMs,
      `w${w.index}:watchdog`,
    );
  }

  /** Busy for `ms` of declared work (a copy): alive throughout. */
  busy(ms: number): Promise<void> {
    return this.sleep(ms, true, false);
  }

  /**
   * Let `ms` of virtual time pass inside the current request. A hung or dead worker never
   * wakes (its request is failed by the watchdog or was failed already).
   */
  sleep(ms: number, declared: boolean, wakeOnStop: boolean): Promise<void> {
    // Even a zero-length sleep is a step: requests due at the same moment interleave in a seeded order.
    return new Promise<void>((resolve) => {
      if (declared) this.sleepingUntil = this.time.now() + ms;
      const wake = () => {
        if (this.sleeper === sleeper) this.sleeper = null;
        if (declared) this.sleepingUntil = 0;
        // A hung worker never wakes; a dead one only to find out it is too late (see `begin`).
        if (this.hung || (this.worker.fault && declared)) return;
        if (declared) this.lastProgressAt = this.time.now();
        resolve();
      };
      const sleeper: Sleeper = { handle: this.time.schedule(wake, ms, `w${this.worker.index}:sleep`), wake };
      if (wakeOnStop) this.sleeper = sleeper;
    });
  }
}
