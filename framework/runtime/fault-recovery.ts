import { RunFailure } from '../errors.ts';
import { gatherRows } from '../exemplars/rows.ts';
import type { RecoverResult } from '../machine/pass-machine.ts';
import { NotEnoughRoom } from '../partition/errors.ts';
import { partitionBySpeed } from '../partition/target-shares.ts';
import { type FaultRecord, faultsIn, isWorkerFault, type WorkerFault } from './faults.ts';
import type { JobState } from './job-state.ts';
import { assignMissing, attributeReloads, checkCoverage, idCensus } from './recovery.ts';
import type { WorkerLink } from './worker-link.ts';

/**
 * An ADM job's way back to the truth after something went wrong: the counts taken from the
 * workers after a failed move, and a failed worker's exemplars reloaded from the data source.
 */
export class FaultRecovery {
  readonly records: FaultRecord[] = [];
  /** The job is closing: a worker failing now is being closed, not faulty. */
  private closed = false;
  /** A late error that is not a worker's fault: the next pass fails with it (`takeLateFailure`). */
  private lateFailure: unknown = null;
  /** The events of a redistribution a fault cut short, for the faults the next recovery records. */
  private interrupted: readonly number[] = [];
  /** Why the last recovery could not place the failed workers' rows (null: it could). */
  private unplaced: string | null = null;
  /** When a worker holding rows was heard failing between requests, until its recovery. */
  private readonly seenFailing = new Map<number, number>();
  /** The failed hosts whose rows the last recovery tried to place. */
  private waitingHosts = '';
  /**
   * Workers given up on whose recovery is not over yet: it may take several tries, when a
   * worker fails while taking the reloaded rows. Each try's reloads are counted against the
   * workers that failed since the last try (`counted`): a row reloaded a second time because
   * its new holder failed too is that holder's fault's, not the first one's again.
   */
  private recovering: {
    link: WorkerLink;
    held: number;
    detectedAt: number;
    reloaded: number;
    counted: boolean;
  }[] = [];

  constructor(private readonly state: JobState) {}

  /**
   * After a move failed part way: take each live worker's count from the worker itself, so
   * the next plan starts from the truth. A failed worker is left to recovery; if every worker
   * answered and the ids still do not add up to the training set exactly once, nothing can
   * repair that, and the job stops.
   */
  async reconcile(interruptedEvents: readonly number[] = []): Promise<void> {
    if (interruptedEvents.length > 0) this.interrupted = interruptedEvents;
    const { setup, lost, held, options } = this.state;
    const live = setup.links.filter((l) => !lost[l.index] && l.alive);
    const replies = await Promise.allSettled(live.map((l) => l.ids()));
    const holdings: Int32Array[] = [];
    replies.forEach((r, k) => {
      if (r.status !== 'fulfilled') return;
      held[live[k].index] = r.value.length;
      holdings.push(r.value);
    });
    if (holdings.length < live.length || live.length < setup.links.filter((l) => !lost[l.index]).length) {
      return; // a worker failed: recovery reloads what it held
    }
    const coverage = checkCoverage(holdings, options.train.count);
    if (coverage !== null)
      throw new Error(`admove lost track of the exemplars after a failed move: ${coverage}`);
  }

  /**
   * After a worker fault: give up on every failed worker, find the exemplars no live worker
   * holds (the training set minus what the live workers report — this also catches
   * fragments that were in flight to or from the failed one), reload them by id from the
   * data source, and hand them to the live available workers that are furthest below their
   * speed-proportional share. Every call is settled before the next step, so no late insert
   * can land after the ids were counted. The pass then starts over.
   */
  async recover(): Promise<RecoverResult> {
    const { setup, lost, available, held, workerActors, options, estimator } = this.state;
    const links = setup.links;
    for (const l of links) {
      if (l.alive || lost[l.index]) continue;
      this.recovering.push({
        link: l,
        held: held[l.index],
        detectedAt: this.seenFailing.get(l.index) ?? options.clock(),
        reloaded: 0,
        counted: false,
      });
      this.seenFailing.delete(l.index);
      this.giveUp(l.index);
    }
    const live = links.filter((l) => !lost[l.index]);
    const asked = await Promise.allSettled(live.map((l) => l.ids()));
    const askFaults = faultsIn(asked);
    if (askFaults.length > 0) throw askFaults[0];
    const holdings = asked.map((r) => (r as PromiseFulfilledResult<Int32Array>).value);
    live.forEach((l, k) => {
      held[l.index] = holdings[k].length;
    });
    const { missing, duplicated } = idCensus(holdings, options.train.count);
    if (duplicated > 0) throw new Error(`admove found ${duplicated} exemplars held twice during recovery`);
    // Hosts the scheduler has given back count as receivers even before the event is applied;
    // hosts with a vacate pending take nothing (they leave next).
    const receivers = live.map((l) => l.index).filter((i) => this.mayReceive(i));
    // A recovery tried again after a wait has no new failure: it names the ones it waits for.
    const hosts = this.recovering.map((r) => r.link.host).join(', ') || this.waitingHosts;
    this.waitingHosts = hosts;
    if (live.length === 0 && missing.length > 0) {
      this.recordRecovering(true);
      throw new RunFailure(
        `no worker left to take ${missing.length} exemplars after ${hosts} failed (every worker failed)`,
      );
    }
    if (receivers.length === 0 && missing.length > 0) {
      // Not the end: a host given back or added within --wait-timeout takes them (the pass
      // machine waits, then recovers again). Their faults are recorded once that is settled.
      this.unplaced = `the ${missing.length} exemplars ${hosts} held have nowhere to go: every other host is vacated or failed`;
      return { noHostAvailable: true };
    }
    let targets: number[];
    try {
      targets = partitionBySpeed(
        options.train.count,
        this.state.capped(estimator.capacities(available.map((_, i) => receivers.includes(i)))),
        held,
      );
    } catch (error) {
      if (!(error instanceof NotEnoughRoom)) throw error;
      this.unplaced = `no room for the ${missing.length} exemplars ${hosts} held: the other hosts' memory caps allow ${error.room} of ${error.total} in all`;
      return { noHostAvailable: true };
    }
    const plan = assignMissing(missing, receivers, targets, held);
    this.countReloads(missing.length);
    const inserts = await Promise.allSettled(
      [...plan].map(async ([i, ids]) => {
        held[i] = await links[i].insert([gatherRows(options.train, ids)]);
      }),
    );
    const insertFaults = faultsIn(inserts);
    if (insertFaults.length > 0) throw insertFaults[0];
    // Empty when the failed worker was already given up on (a late fault, `lateFault`).
    this.recordRecovering(false);
    this.unplaced = null;
    this.interrupted = [];
    workerActors.forEach((a, i) => {
      if (!lost[i]) a.send({ type: 'holding', count: held[i] });
    });
    return { noHostAvailable: false };
  }

  /**
   * The faults whose rows wait for a host, as they would be recorded if the wait ended now
   * (unrecovered): a report made meanwhile, or at the end of a run that never placed them,
   * names them.
   */
  waitingRecords(): FaultRecord[] {
    if (this.unplaced === null) return [];
    const now = this.state.options.clock();
    return this.recovering.map((r) =>
      this.recordOf(r.link.host, r.link.fault, r.detectedAt, r.reloaded, now - r.detectedAt, true),
    );
  }

  /** Why a recovery waits for a host (null: none does). */
  get waitingFor(): string | null {
    return this.unplaced;
  }

  /**
   * The wait for a host ended without one (timeout or cancel): the faults being recovered are
   * recorded as unrecovered, and the reason returned. Null if no recovery was waiting. The
   * rows stay missing: the next pass recovers first.
   */
  giveUpWaiting(): string | null {
    const why = this.unplaced;
    if (why === null) return null;
    this.recordRecovering(true);
    return why;
  }

  /**
   * The faults of the workers being recovered, each timed from its own detection until now:
   * recovered, or `unrecovered` when the run stops because their rows have nowhere to go (the
   * report of the failed run then still names every one, with what was reloaded so far).
   */
  private recordRecovering(unrecovered: boolean): void {
    const now = this.state.options.clock();
    for (const r of this.recovering) {
      this.record(r.link.host, r.link.fault, r.detectedAt, r.reloaded, now - r.detectedAt, unrecovered);
    }
    this.recovering = [];
  }

  /**
   * The `missing` rows about to be reloaded, credited to the workers that failed since the
   * last try (as `attributeReloads` shares them). None new: they were in flight when a try
   * failed for another reason, and go to the latest failure.
   */
  private countReloads(missing: number): void {
    const fresh = this.recovering.filter((r) => !r.counted);
    if (fresh.length === 0) {
      const last = this.recovering.at(-1);
      if (last) last.reloaded += missing;
      return;
    }
    attributeReloads(
      fresh.map((r) => r.held),
      missing,
    ).forEach((n, k) => {
      fresh[k].reloaded += n;
      fresh[k].counted = true;
    });
  }

  /**
   * A worker failed after its move was over for the job: a vacated sender whose thread failed
   * letting go of rows that had all reached their receivers (worker-slot.ts). If it holds
   * nothing, nothing is reloaded: it is given up on and the fault recorded now (its next
   * request, which a vacated worker may never get, would be too late for the report). One
   * that still holds rows is left to its next request, which fails and recovers them.
   */
  lateFault(error: unknown): void {
    if (this.closed) return;
    if (!isWorkerFault(error)) {
      // Not the worker failing: admove's own bug (a thread refusing to give up rows its
      // mirror said it held, say). The job cannot vouch for its rows any more.
      this.lateFailure ??= error;
      return;
    }
    const { lost, held, options } = this.state;
    const i = error.worker;
    if (lost[i] || held[i] !== 0) return;
    this.giveUp(i);
    this.record(error.host, error, options.clock(), 0, 0);
  }

  /**
   * Worker `fault.worker` failed between requests (`WorkerLink.onIdleFault`): the recovery
   * that takes it up (the pass machine's, on `worker.lost`) dates its fault from now.
   */
  heardFailing(fault: WorkerFault): void {
    const i = fault.worker;
    if (!this.state.lost[i] && !this.seenFailing.has(i)) this.seenFailing.set(i, this.state.options.clock());
  }

  /** Worker `i` is gone for good: it holds nothing, takes nothing, and its machine says so. */
  private giveUp(i: number): void {
    const { lost, available, held, workerActors } = this.state;
    lost[i] = true;
    available[i] = false;
    held[i] = 0;
    workerActors[i].send({ type: 'lost' });
  }

  /** A fault into the report (and to `onFault`). */
  private record(
    host: string,
    fault: WorkerFault | null,
    detectedAt: number,
    exemplarsReloaded: number,
    recoveryMs: number,
    unrecovered = false,
  ): void {
    const record = this.recordOf(host, fault, detectedAt, exemplarsReloaded, recoveryMs, unrecovered);
    this.records.push(record);
    this.state.options.onFault?.(record);
  }

  private recordOf(
    host: string,
    fault: WorkerFault | null,
    detectedAt: number,
    exemplarsReloaded: number,
    recoveryMs: number,
    unrecovered: boolean,
  ): FaultRecord {
    return {
      host,
      cause: fault?.failure ?? 'exited',
      during: fault?.during ?? 'unknown',
      message: fault?.message ?? 'worker lost',
      detectedAt,
      exemplarsReloaded,
      recoveryMs,
      ...(unrecovered ? { unrecovered: true } : {}),
      ...(this.interrupted.length > 0 ? { interruptedEvents: [...this.interrupted] } : {}),
    };
  }

  /** A late error that is not a worker's fault, once: the pass that learns of it fails with it. */
  takeLateFailure(): unknown {
    const error = this.lateFailure;
    this.lateFailure = null;
    return error;
  }

  /** The job closes its workers now: what they report from here on is not a fault. */
  close(): void {
    this.closed = true;
  }

  /** Whether worker `i` may take data now: alive, and available — by the last word of the scheduler. */
  private mayReceive(i: number): boolean {
    if (this.state.lost[i]) return false;
    const host = this.state.hostList[i].name;
    if (this.state.queue.vacatePending(host)) return false;
    return this.state.available[i] || this.state.queue.availablePending(host);
  }
}
