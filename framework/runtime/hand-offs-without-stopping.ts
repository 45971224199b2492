import { availableParallelism } from 'node:os';
import { evacuationTargets } from '../partition/evacuation.ts';
import { planTransfers } from '../partition/transfer-plan.ts';
import type { Transfer } from '../partition/types.ts';
import { isWorkerFault } from './faults.ts';
import { canHandOff, handOffAll } from './hand-off.ts';
import type { JobState } from './job-state.ts';
import type { JobOptions } from './job-types.ts';
import type { RedistributionTiming } from './redistribution-timing.ts';
import type { RedistributionRecord } from './report-types.ts';

/**
 * Hand-offs while computing need each receiver to reach a chunk boundary, so a core. With up
 * to this many workers per core they do (2 cores: 2–8 workers moved 10 MB 1.6× faster than
 * with every worker stopped, 16 as fast); beyond, receivers wait for a core (32 workers:
 * 174 ms against 140), and stopping everyone moves the rows sooner.
 */
const HAND_OFF_WORKERS_PER_CORE = 8;

/** Whether a job of `workers` workers hands rows over while computing (see HAND_OFF_WORKERS_PER_CORE). */
export function handsOff(options: JobOptions, workers: number): boolean {
  return (
    options.handOffWhileComputing !== false && workers <= HAND_OFF_WORKERS_PER_CORE * availableParallelism()
  );
}

/**
 * An ADM job's vacates applied without stopping anyone: the vacated workers hand their rows
 * straight to their receivers (`WorkerLink.handOff`), while the workers compute (the slice
 * counts the rows) or between passes (the next pass, fresh, counts them; it starts once the
 * hand-off is done). The pass machine's `handOffPossible` guards and `handOff` actor, and
 * the slice's bookkeeping of the hand-offs made during it.
 */
export class HandOffsWithoutStopping {
  /** The plan `handOffPossible` made, which the `handOff` actor then carries out. */
  private handOffPlan: Transfer[] | null = null;
  /** A slice is computing and has not yet waited for its hand-offs: one may start now. */
  private sliceRunning = false;
  /** A hand-off `send` launched at once, which the pass machine's `handingOff` state then takes over. */
  private launched: Promise<void> | null = null;
  /** Hand-offs in flight: the computing slice ends only once they are settled. */
  private readonly handOffs = new Set<Promise<unknown>>();
  /** Rows handed over in this slice to a worker whose share was done: not yet counted. */
  private uncountedRows = 0;
  /**
   * A hand-off failed (in this slice, or between passes before it): recovery must run,
   * whatever the passes replied. Kept until a slice takes it.
   */
  private handOffFailure: unknown = null;

  constructor(
    private readonly state: JobState,
    private readonly timing: RedistributionTiming,
  ) {}

  /** A hand-off `send` launched is waiting for the pass machine to take it over. */
  get launchPending(): boolean {
    return this.launched !== null;
  }

  /** Rows handed over in this slice to a worker whose share was done: not yet counted. */
  get uncounted(): number {
    return this.uncountedRows;
  }

  /** A hand-off failed because a worker did, and nobody has taken the failure yet. */
  get faultPending(): boolean {
    return this.handOffFailure !== null && isWorkerFault(this.handOffFailure);
  }

  /** Why a hand-off failed since the last slice took the failure, or null; the next call says null. */
  takeFailure(): unknown {
    const failure = this.handOffFailure;
    this.handOffFailure = null;
    return failure;
  }

  /**
   * A computing slice starts: hand-offs may start during it. Rows handed over before it, between
   * passes, need no counting here (the pass is fresh), but a failure then is still to recover from.
   */
  sliceStarted(): void {
    this.uncountedRows = 0;
    this.sliceRunning = true;
  }

  /** Some hand-off made during this slice is still in flight. */
  get inFlight(): boolean {
    return this.handOffs.size > 0;
  }

  /** Settles once the hand-offs in flight now have. */
  settled(): Promise<unknown> {
    return Promise.allSettled([...this.handOffs]);
  }

  /** The slice's passes and hand-offs are settled: none starts until the next slice. */
  sliceEnded(): void {
    // From here on no hand-off may start until the next slice: its rows would miss this one.
    this.sliceRunning = false;
    // A hand-off `send` launched that the machine has not taken over yet (it waits for the
    // hand-off, which may end with the slice): it does now, while the slice is still on.
    if (this.launched !== null) this.timing.interrupt();
    this.launched = null;
  }

  /**
   * Whether the pending events can be applied without stopping anyone: only vacates (no
   * deadline: a drain against one may need reloads), and every vacated worker able to hand
   * its rows straight to its receivers (threads). While a slice computes, or `betweenPasses`
   * (the pass machine is idle) once earlier hand-offs are done: the plan starts from the
   * counts they left. The plan is made here, for `handOff`.
   */
  plan(betweenPasses = false): boolean {
    const { setup, options, queue, available, lost, hostList, estimator, held } = this.state;
    this.handOffPlan = null;
    const now = this.sliceRunning || (betweenPasses && !this.inFlight);
    if (!now || !handsOff(options, setup.links.length)) return false;
    // Workers on agents hand nothing off: say so before planning, which took 0.1 ms of a
    // vacate's path on agents (timestamps), here from `send` and again in the machine's guard.
    if (!setup.links.some((link) => link.handOff !== undefined)) return false;
    if (!queue.onlyVacatesPending()) return false;
    if (this.handOffFailure !== null) return false;
    const receiving = available.map((a, i) => a && !lost[i] && !queue.vacatePending(hostList[i].name));
    if (!receiving.some(Boolean)) return false;
    let targets: number[];
    try {
      targets = evacuationTargets(this.state.capped(estimator.capacities(receiving)), held);
    } catch {
      return false; // nowhere to go: the usual path says so
    }
    const transfers = planTransfers(held, targets).sort((a, b) => b.count - a.count);
    if (!canHandOff(setup.links, transfers)) return false;
    this.handOffPlan = transfers;
    return true;
  }

  /** The `handOffPossible` guards: a hand-off was launched already, or one can be planned now. */
  ready(betweenPasses = false): boolean {
    return this.launched !== null || this.plan(betweenPasses);
  }

  /** The `handOff` actor: the hand-off `send` launched, or a new one from the plan just made. */
  take(): Promise<void> {
    const work = this.launched ?? this.launch();
    this.launched = null;
    return work;
  }

  /** A vacate `send` received: the hand-off just planned starts at once, before the pass machine hears of it. */
  launchAtOnce(): void {
    const launched = this.launch();
    this.launched = launched;
    // The machine's bookkeeping waits for the hand-off: on a machine whose cores the workers
    // fill, the coordinator computing now would take a core from a worker handing rows over.
    launched.then(() => {
      if (this.launched === launched) this.timing.interrupt();
    });
  }

  /** The `handOff` actor's work: never rejects; a failure is kept for the slice, which then recovers. */
  private launch(): Promise<void> {
    const duringSlice = this.sliceRunning;
    const work = this.run(duringSlice).catch((error: unknown) => {
      this.handOffFailure ??= error;
      // The slice will recover and start the pass over: no point computing the rest of it.
      // (Between passes nobody computes: the next slice throws the failure at once.)
      if (duringSlice) for (const l of this.state.setup.links) l.stop();
    });
    this.handOffs.add(work);
    return work.finally(() => this.handOffs.delete(work));
  }

  private async run(duringSlice: boolean): Promise<void> {
    const { options, setup, workerActors, held, records } = this.state;
    const transfers = this.handOffPlan ?? [];
    this.handOffPlan = null;
    const startedAt = options.clock();
    // The orders go out before any bookkeeping: the vacated host is waiting on them, and on a
    // machine whose cores the workers fill this coordinator's every step is slow (the drain
    // and the worker actors' events below took 0.2–0.6 ms there, measured).
    const handing = transfers.length === 0 ? null : handOffAll(setup.links, transfers, options.clock);
    const drain = this.timing.applyEvents(startedAt);
    if (handing === null) return;
    const triggeredAt = this.state.requestedAt(transfers, drain.applied, startedAt);
    for (const t of transfers) workerActors[t.from].send({ type: 'redistribute' });
    const outcome = await handing;
    if (outcome === null) throw new Error('the workers cannot hand rows to each other');
    // What each worker said it holds, even if some part failed: recovery then starts from it.
    outcome.held.forEach((n, i) => {
      if (n < 0) return;
      held[i] = n;
      workerActors[i].send({ type: 'holding', count: n });
    });
    this.uncountedRows += outcome.uncounted;
    if (outcome.failure !== null) throw outcome.failure;
    this.timing.redistributed(startedAt);
    const record: RedistributionRecord = {
      index: records.length,
      events: drain.applied.map((r) => r.seq),
      triggeredAt,
      startedAt,
      obtrusivenessMs: outcome.handedAt - triggeredAt,
      migrationMs: outcome.takenAt - triggeredAt,
      exemplarsMoved: transfers.reduce((a, t) => a + t.count, 0),
      exemplarsReloaded: 0,
      bytesMoved: outcome.bytes,
      transfers: transfers.length,
      countsAfter: [...held],
      reason: 'evacuate',
      deadlines: [],
      ...(duringSlice ? { whileComputing: true } : { betweenPasses: true }),
    };
    records.push(record);
    options.onRedistribution?.(record);
  }
}
