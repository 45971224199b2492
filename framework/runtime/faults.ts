/**
 * Worker faults: what can go wrong with a worker, how the coordinator names it, and the
 * injector that makes every case reproducible (`--inject-fault worker:N:KIND:WHEN`).
 */

export type FaultKind = 'throw' | 'exit' | 'hang';

/** When an injected fault fires: at the start of the pass after K completed ones, or in the Kth move. */
export interface FaultPlan {
  readonly kind: FaultKind;
  readonly when: 'after-pass' | 'during-transfer';
  readonly count: number;
}

/** A worker the coordinator has given up on: it threw, its thread exited, or it stopped answering. */
export class WorkerFault extends Error {
  constructor(
    readonly worker: number,
    readonly host: string,
    readonly failure: 'threw' | 'exited' | 'hung',
    readonly during: string,
    detail: string,
  ) {
    super(`worker ${host} ${failure} during ${during}: ${detail}`);
    this.name = 'WorkerFault';
  }
}

export function isWorkerFault(error: unknown): error is WorkerFault {
  return error instanceof WorkerFault;
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

/** One fault as the run report records it. Times are ms since the run started. */
export interface FaultRecord {
  readonly host: string;
  readonly cause: 'threw' | 'exited' | 'hung';
  readonly during: string;
  readonly message: string;
  readonly detectedAt: number;
  /** Exemplars reloaded from the data source and handed to the other workers. */
  readonly exemplarsReloaded: number;
  /** From detection until the pass could start again. */
  readonly recoveryMs: number;
}

/** Counts passes and moves on the worker side and fires the planned fault at its moment. */
export class FaultInjector {
  private passes = 0;
  private transfers = 0;

  constructor(private readonly plan: FaultPlan | undefined) {}

  beforePass(): void {
    if (this.plan?.when === 'after-pass' && this.passes === this.plan.count) this.fire();
  }

  afterPass(): void {
    this.passes++;
  }

  /** Called at the start of every insert or extract the worker takes part in. */
  transfer(): void {
    this.transfers++;
    if (this.plan?.when === 'during-transfer' && this.transfers === this.plan.count) this.fire();
  }

  private fire(): void {
    const plan = this.plan!;
    if (plan.kind === 'throw') throw new Error(`injected fault: throw (${plan.when}:${plan.count})`);
    if (plan.kind === 'exit') process.exit(3);
    // hang: block this thread for good, without burning a core, so only the liveness check can tell.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
  }
}

/** Parse `worker:N:KIND:WHEN` (WHEN = `after-pass:K` | `during-transfer:K`); null with a reason if bad. */
export function parseFaultSpec(spec: string): { worker: number; plan: FaultPlan } | string {
  const m = /^worker:(\d+):(throw|exit|hang):(after-pass|during-transfer):(\d+)$/.exec(spec.trim());
  if (!m) return 'expected worker:N:KIND:WHEN, KIND throw|exit|hang, WHEN after-pass:K|during-transfer:K';
  const count = Number(m[4]);
  if (m[3] === 'during-transfer' && count < 1) return 'during-transfer:K counts moves from 1';
  return { worker: Number(m[1]), plan: { kind: m[2] as FaultKind, when: m[3] as FaultPlan['when'], count } };
}
