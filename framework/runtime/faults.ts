/**
 * Worker faults: what can go wrong with a worker, how the coordinator names it, and the
 * injector that makes every case reproducible (`--inject-fault worker:N:KIND:WHEN`).
 */

export type FaultKind = 'throw' | 'exit' | 'hang';

/**
 * When an injected fault fires: `after-pass` — in the middle of the pass that follows K
 * completed ones, once the worker has computed `chunks` chunks of it (default 1), so some
 * of that pass's work is done; `during-transfer` — in the worker's Kth move (insert,
 * extract or drop; its initial load is move 1).
 */
export interface FaultPlan {
  readonly kind: FaultKind;
  readonly when: 'after-pass' | 'during-transfer';
  readonly count: number;
  readonly chunks?: number;
}

/** A worker the coordinator has given up on: it threw, its thread exited, or it stopped answering. */
export class WorkerFault extends Error {
  constructor(
    readonly worker: number,
    readonly host: string,
    readonly failure: 'threw' | 'exited' | 'hung',
    readonly during: string,
    /** What happened, without the worker and request (those are in `message`). */
    readonly detail: string,
    /** Set when the app's kernel threw (rather than the worker failing): the kernel's error. */
    readonly kernelError: string | null = null,
  ) {
    super(`worker ${host} ${failure} during ${during}: ${detail}`);
    this.name = 'WorkerFault';
  }
}

export function isWorkerFault(error: unknown): error is WorkerFault {
  return error instanceof WorkerFault;
}

/**
 * What a worker reports when the app's kernel threw: the worker itself is sound. One such
 * failure is treated as a fault of that host (it may be the host: memory, a bad build); the
 * same error from a second host means the kernel is at fault, and the job stops.
 */
export const KERNEL_ERROR_TAG = '[kernel] ';
/**
 * What a worker reports when a request made no sense for what it holds (e.g. asked for more
 * exemplars than it has): a coordinator bug, never blamed on the worker.
 */
export const PROTOCOL_ERROR_TAG = '[protocol] ';

/** The coordinator asked a worker for something impossible: a bug in admove, not in the worker. */
export class CoordinatorBug extends Error {
  constructor(host: string, request: string, detail: string) {
    super(`admove internal error (a bug; please report it): worker ${host} refused ${request}: ${detail}`);
    this.name = 'CoordinatorBug';
  }
}

/** The faults found in a settled batch of worker calls (other rejections are rethrown). */
export function faultsIn(results: readonly PromiseSettledResult<unknown>[]): WorkerFault[] {
  const faults: WorkerFault[] = [];
  for (const r of results) {
    if (r.status === 'fulfilled') continue;
    if (isWorkerFault(r.reason)) faults.push(r.reason);
    else throw r.reason;
  }
  return faults;
}

/** `p` as a result that never rejects: handled from the moment it is made. */
export function settled<T>(p: Promise<T>): Promise<PromiseSettledResult<T>> {
  return p.then(
    (value) => ({ status: 'fulfilled', value }),
    (reason: unknown) => ({ status: 'rejected', reason }),
  );
}

/** Of settled calls, the error to act on: a worker fault if there is one (recovery handles it). */
export function firstError(results: readonly PromiseSettledResult<unknown>[]): unknown {
  const errors = results
    .filter((r): r is PromiseRejectedResult => r.status === 'rejected')
    .map((r) => r.reason);
  return errors.find(isWorkerFault) ?? errors[0];
}

/** One fault as the run report records it. Times are ms since the run started. */
export interface FaultRecord {
  readonly host: string;
  readonly cause: 'threw' | 'exited' | 'hung';
  readonly during: string;
  readonly message: string;
  readonly detectedAt: number;
  /**
   * Exemplars reloaded from the data source because this worker failed: those it held, and
   * those it was being given when it failed (rows in flight when several fail at once count
   * with the first). A row reloaded twice, its new holder failing as well, counts once with
   * each fault.
   */
  readonly exemplarsReloaded: number;
  /** From detection until the pass could start again (unrecovered: until the run gave up). */
  readonly recoveryMs: number;
  /**
   * Its exemplars had nowhere to go (every other worker failed or vacated, or full): the run
   * stopped on it. Absent otherwise.
   */
  readonly unrecovered?: true;
  /**
   * The events of a redistribution this fault cut short (its move failed): they were applied,
   * but no redistribution record has them, and their obtrusiveness and migration were not
   * measured; recovery put the rows where they belong. Absent otherwise.
   */
  readonly interruptedEvents?: readonly number[];
}

/**
 * When a planned fault is due, on the worker side: counts fresh passes, chunks of the
 * current pass and moves. Pure; each transport fires the fault its own way.
 */
export class FaultSchedule {
  /** Fresh passes started (an interrupted pass resumed is the same pass). */
  private passes = 0;
  private chunksThisPass = 0;
  private moves = 0;

  constructor(private readonly plan: FaultPlan | undefined) {}

  /** True when a fault waits for some pass: the pass loop then reports its chunks here. */
  get watchesPasses(): boolean {
    return this.plan?.when === 'after-pass';
  }

  passStarted(fresh: boolean): void {
    if (!fresh) return;
    this.passes++;
    this.chunksThisPass = 0;
  }

  /** After each chunk of a pass: the fault to fire now, if any. */
  chunkDone(): FaultKind | null {
    this.chunksThisPass++;
    const plan = this.plan;
    const due =
      plan?.when === 'after-pass' &&
      this.passes === plan.count + 1 &&
      this.chunksThisPass === (plan.chunks ?? 1);
    return due ? plan.kind : null;
  }

  /** At the start of every insert, extract or drop: the fault to fire now, if any. */
  move(): FaultKind | null {
    this.moves++;
    return this.plan?.when === 'during-transfer' && this.moves === this.plan.count ? this.plan.kind : null;
  }
}

/** A thread worker's planned fault, fired for real: a throw, `process.exit`, or a blocked thread. */
export class FaultInjector {
  private readonly schedule: FaultSchedule;

  constructor(plan: FaultPlan | undefined) {
    this.schedule = new FaultSchedule(plan);
  }

  get watchesPasses(): boolean {
    return this.schedule.watchesPasses;
  }

  passStarted(fresh: boolean): void {
    this.schedule.passStarted(fresh);
  }

  chunkDone(): void {
    this.fire(this.schedule.chunkDone());
  }

  /** Called at the start of every insert, extract or drop the worker takes part in. */
  transfer(): void {
    this.fire(this.schedule.move());
  }

  private fire(kind: FaultKind | null): void {
    if (kind === null) return;
    if (kind === 'throw') throw new Error('injected fault: throw');
    if (kind === 'exit') process.exit(3);
    // hang: block this thread for good, without burning a core, so only the liveness check can tell.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
  }
}

/**
 * What a worker's failed reply means, the same for every transport: a request that made no
 * sense is the coordinator's bug (the worker is sound); a kernel that threw is a fault that
 * names the kernel's error; anything else is the worker failing.
 */
export function classifyWorkerError(
  worker: number,
  host: string,
  request: string,
  message: string,
  failure: 'threw' | 'exited' = 'threw',
): WorkerFault | CoordinatorBug {
  if (message.startsWith(PROTOCOL_ERROR_TAG)) {
    return new CoordinatorBug(host, request, message.slice(PROTOCOL_ERROR_TAG.length));
  }
  if (message.startsWith(KERNEL_ERROR_TAG)) {
    const detail = message.slice(KERNEL_ERROR_TAG.length);
    return new WorkerFault(worker, host, 'threw', request, `the kernel threw ${detail}`, detail);
  }
  return new WorkerFault(worker, host, failure, request, message);
}

/**
 * Parse `worker:N:KIND:WHEN` (WHEN = `after-pass:K[:C]` | `during-transfer:K`); a reason if bad.
 * `after-pass:K:C` fires in the middle of pass K+1, after the worker's C-th chunk of it.
 */
export function parseFaultSpec(spec: string): { worker: number; plan: FaultPlan } | string {
  const m = /^worker:(\d{1,6}):(throw|exit|hang):(after-pass|during-transfer):(\d{1,9})(?::(\d{1,9}))?$/.exec(
    spec.trim(),
  );
  if (!m) return 'expected worker:N:KIND:WHEN, KIND throw|exit|hang, WHEN after-pass:K[:C]|during-transfer:K';
  const count = Number(m[4]);
  const when = m[3] as FaultPlan['when'];
  if (when === 'during-transfer' && count < 1) return 'during-transfer:K counts moves from 1';
  if (m[5] !== undefined && when !== 'after-pass') return 'a chunk count (:C) goes with after-pass:K only';
  const chunks = m[5] === undefined ? undefined : Number(m[5]);
  if (chunks !== undefined && chunks < 1) return 'after-pass:K:C counts chunks from 1';
  const plan: FaultPlan = { kind: m[2] as FaultKind, when, count, ...(chunks ? { chunks } : {}) };
  return { worker: Number(m[1]), plan };
}
