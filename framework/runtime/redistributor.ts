import type { HostChange } from '../events/event-queue.ts';
import type { EventRecord } from '../events/types.ts';
import { exemplarBytes } from '../exemplars/rows.ts';
import type { RedistributeResult } from '../machine/pass-machine.ts';
import { NoHostAvailable } from '../partition/errors.ts';
import { evacuationTargets } from '../partition/evacuation.ts';
import { partitionBySpeed } from '../partition/target-shares.ts';
import { planTransfers, type RedistributeReason, shouldRedistribute } from '../partition/transfer-plan.ts';
import type { WorkerCapacity } from '../partition/types.ts';
import { type Deadline, moveBudgets, reloadFromSource, splitForDeadlines } from './deadline-drain.ts';
import type { FaultRecovery } from './fault-recovery.ts';
import { firstError, isWorkerFault } from './faults.ts';
import type { JobState } from './job-state.ts';
import { moveData } from './move-data.ts';
import type { RedistributionTiming } from './redistribution-timing.ts';
import type { RecordReason, RedistributionRecord } from './report-types.ts';

/**
 * The pass machine's `redistribute` actor, with every worker stopped: the pending events
 * applied, the partition recomputed from measured speeds, and the data moved between
 * workers (or dropped and reloaded from the source, to meet a vacate's deadline).
 */
export class Redistributor {
  /** Observed speed of moves, for deadline drains (starts at a conservative 200 MB/s). */
  private moveBytesPerMs = 200_000;
  /** Senders' replies the moves did not wait for (`watchSenderReply`). */
  private readonly senderReplies = new Set<Promise<void>>();
  /** Redistributions whose migration cost ends when computing resumes. */
  private awaitingResume: RedistributionRecord[] = [];
  /**
   * Since when the data has had nowhere to go: every host vacated, or the hosts left may not
   * hold it under their memory caps (null: it has somewhere).
   */
  private waitingSince: number | null = null;
  /** Why the data has nowhere to go while waiting (null: it has). */
  private shortage: NoHostAvailable | null = null;

  constructor(
    private readonly state: JobState,
    private readonly timing: RedistributionTiming,
    private readonly recovery: FaultRecovery,
  ) {}

  /**
   * Plan the evacuation of the last host once, on the job's own state, and act on nothing:
   * the first real redistribution, often a vacate whose obtrusiveness is counting, then runs
   * code V8 has already compiled. Cold, the planning took 1.7–3.4 ms of a default run's
   * 7–17 ms evacuation (timestamps, 2026-12-01); warm, it takes microseconds.
   */
  rehearse(): void {
    const { held, available } = this.state;
    if (held.length < 2) return;
    const receiving = available.map((a, i) => a && i !== held.length - 1);
    try {
      this.targetsFor(receiving, false);
      const { capacities, targets } = this.targetsFor(receiving, true);
      shouldRedistribute(held, targets, capacities, { minGain: this.state.options.minGain });
      this.transferPlan(targets, [], 0);
    } catch {
      // Nowhere to put the data (every other host capped or vacated): nothing to rehearse.
    }
  }

  /**
   * The share each worker should hold, `receiving` marking who may take data: only the
   * vacated data moves in an `evacuation`, else the partition is recomputed from the speeds.
   * Throws NoHostAvailable when nobody may hold any.
   */
  private targetsFor(receiving: readonly boolean[], evacuation: boolean) {
    const { options, held, estimator } = this.state;
    const capacities = this.state.capped(estimator.capacities(receiving));
    const targets = evacuation
      ? evacuationTargets(capacities, held)
      : partitionBySpeed(options.train.count, capacities, held);
    return { capacities, targets };
  }

  /**
   * The transfers from the workers' holdings to `targets`, largest first (so a drain against a
   * deadline frees the most soonest), split between moving and reloading from the source so
   * that each standing vacate deadline can be met at the moves' observed speed.
   */
  private transferPlan(targets: readonly number[], applied: readonly EventRecord[], now: number) {
    const { options, held } = this.state;
    const transfers = planTransfers(held, targets).sort((a, b) => b.count - a.count);
    // The standing deadlines (applyEvents keeps them from the vacate until the host is back):
    // of hosts with rows to move, and of those this drain vacated (an empty one meets its own).
    const vacatedNow = new Set(applied.filter((r) => r.event.type === 'vacate').map((r) => r.event.host));
    const deadlines = new Map<number, Deadline>();
    for (const d of this.state.vacateDeadlines) {
      if (d !== null && (held[d.worker] > 0 || vacatedNow.has(d.host))) deadlines.set(d.worker, d);
    }
    const rowBytes = exemplarBytes(options.train.dim);
    const budgets = moveBudgets(deadlines, held, now, rowBytes, this.moveBytesPerMs);
    return { transfers, deadlines, split: splitForDeadlines(transfers, budgets) };
  }

  /**
   * Every sender's reply that came after its move is in, and what it said acted on (a fault
   * recorded): a pass ends with this, so its report has the faults of the moves it made.
   */
  async lateRepliesIn(): Promise<void> {
    while (this.senderReplies.size > 0) await Promise.all([...this.senderReplies]);
  }

  /** Follow a sender's reply that the move did not wait for; a fault in it is recorded once `counted`. */
  private watchSenderReply(reply: Promise<void>, counted: Promise<void>): void {
    const done = reply
      .then(
        () => {},
        (error: unknown) => counted.then(() => this.recovery.lateFault(error)),
      )
      // The fault is recorded; an `onFault` callback that threw must not crash the job here.
      .catch(() => {})
      .finally(() => this.senderReplies.delete(done));
    this.senderReplies.add(done);
  }

  /**
   * Computing resumes: the redistributions before it end their migration now (returned); one
   * made between passes ended it when its rows were in.
   */
  computingResumed(): readonly RedistributionRecord[] {
    const now = this.state.options.clock();
    const resumed = this.awaitingResume;
    for (const r of resumed) r.migrationMs ??= now - r.triggeredAt;
    this.awaitingResume = [];
    return resumed;
  }

  /**
   * A worker's pass after `resumed` began `ms` late, waiting for rows a move had just brought
   * it: their migration ended that much later.
   */
  resumedLate(resumed: readonly RedistributionRecord[], ms: number): void {
    for (const r of resumed) if (r.migrationMs !== null) r.migrationMs += ms;
  }

  /**
   * Why the job is waiting for a host: every host vacated, or (`NotEnoughRoom`) the ones left
   * may not hold all the exemplars under their memory caps. Null when it is not waiting.
   */
  get waitingFor(): NoHostAvailable | null {
    return this.shortage;
  }

  /** A recovery's rows have nowhere to go: the wait for a host starts now, unless one is on (then false). */
  waitBegins(): boolean {
    if (this.waitingSince !== null) return false;
    this.waitingSince = this.state.options.clock();
    return true;
  }

  /**
   * While a recovery waits for a host: the events that came are applied (a vacate of a host
   * that still holds rows says its data stays, and `why`); the data moves once there is room.
   */
  applyWhileWaiting(why: string): void {
    const drain = this.timing.applyEvents(this.state.options.clock());
    this.markDataStays(drain.applied, why);
  }

  /** A recovery that waited placed its rows: the next wait counts from its own start. */
  waitEnds(): void {
    this.waitingSince = null;
  }

  /** Time left before giving up on a host, counted from when the data first had nowhere to go. */
  waitRemainingMs(): number {
    const { options } = this.state;
    const limit = options.waitTimeoutMs ?? 60_000;
    const since = this.waitingSince ?? options.clock();
    return Math.max(0, limit - (options.clock() - since));
  }

  /**
   * Applied vacates of hosts that still hold rows say so in their outcome: "applied" alone
   * would tell the scheduler the host is free, when its data cannot leave yet.
   */
  private markDataStays(applied: readonly EventRecord[], why: string): void {
    const { held, hostList } = this.state;
    for (const r of applied) {
      const i = hostList.findIndex((h) => h.name === r.event.host);
      if (r.event.type === 'vacate' && r.outcome?.status === 'applied' && held[i] > 0)
        r.outcome = { ...r.outcome, dataStays: why };
    }
  }

  /**
   * `betweenPasses`: the app is working between passes, and no worker waits for this move to
   * compute; its migration then ends when the rows are in (and any wait of the next pass for
   * them is added then), not when the app asks for that pass.
   */
  async redistribute(betweenPasses = false): Promise<RedistributeResult> {
    const { options, queue, held, available, hostList, workerActors, setup } = this.state;
    for (const a of workerActors) a.send({ type: 'redistribute' });
    const startedAt = options.clock();
    const drain = this.timing.applyEvents(startedAt);
    const settle = (): RedistributeResult => {
      this.timing.restartGainStreak();
      this.timing.redistributed(startedAt);
      // Events that came in during this redistribution and may wait: apply them later.
      if (queue.pending && !this.timing.mayRedistribute()) this.timing.deferInterrupt();
      workerActors.forEach((a, i) => {
        a.send({ type: 'holding', count: held[i] });
      });
      return { noHostAvailable: false };
    };
    // A host whose vacate came in during this redistribution takes no data (it leaves next).
    const receiving = available.map((a, i) => a && !queue.vacatePending(hostList[i].name));
    // Only vacates: move only the vacated data (a rebalance by speed waits for its own rule).
    const evacuation = drain.applied.length > 0 && drain.applied.every((r) => r.event.type === 'vacate');
    let capacities: WorkerCapacity[];
    let targets: number[];
    try {
      ({ capacities, targets } = this.targetsFor(receiving, evacuation));
    } catch (error) {
      if (!(error instanceof NoHostAvailable)) throw error;
      this.waitingSince ??= startedAt;
      this.shortage = error;
      this.markDataStays(drain.applied, error.message);
      return { noHostAvailable: true };
    }
    this.waitingSince = null;
    this.shortage = null;
    const decision = shouldRedistribute(held, targets, capacities, { minGain: options.minGain });
    if (!decision.redistribute) return settle();
    const { transfers, deadlines, split } = this.transferPlan(targets, drain.applied, options.clock());
    const vacated = [...new Set(transfers.map((t) => t.from))].filter((i) => !available[i]);
    const triggeredAt = this.state.requestedAt(transfers, drain.applied, startedAt);
    // moveData first: by the in-order rule a sender's extract runs before its drop, so the
    // drop hands back exactly what is left. Both are settled before anything else happens.
    // A sender's reply that comes after its move was over (direct-move.ts `senderReply`) is
    // acted on once the counts below are in: its fault is recorded against what it holds then.
    let countsIn = () => {};
    const counted = new Promise<void>((resolve) => {
      countsIn = resolve;
    });
    const [movedResult, reloadedResult] = await Promise.allSettled([
      moveData(setup.links, split.move, options.clock, (reply) => this.watchSenderReply(reply, counted)),
      reloadFromSource(setup.links, options.train, split.reload, options.clock),
    ]);
    if (movedResult.status === 'rejected' || reloadedResult.status === 'rejected') {
      const failure = firstError([movedResult, reloadedResult]);
      try {
        // A worker's fault: the faults the recovery records next name these events, which no
        // redistribution record will.
        await this.recovery.reconcile(isWorkerFault(failure) ? drain.applied.map((r) => r.seq) : []);
      } finally {
        countsIn();
      }
      throw failure;
    }
    const moved = movedResult.value;
    const reloaded = reloadedResult.value;
    const doneAt = new Map(moved.senderDoneAt);
    for (const [i, t] of reloaded.senderDoneAt) doneAt.set(i, Math.max(t, doneAt.get(i) ?? t));
    if (moved.bytes > 0) {
      const took = Math.max(...moved.senderDoneAt.values()) - startedAt;
      if (took > 0) this.moveBytesPerMs = 0.5 * this.moveBytesPerMs + 0.5 * (moved.bytes / took);
    }
    const emptiedAt = vacated.length ? Math.max(...vacated.map((i) => doneAt.get(i)!)) : null;
    // The counts are what the workers said they hold, not what the plan meant them to.
    const reported = targets.map((n, i) => {
      if (reloaded.dropped.has(i)) return 0;
      const said = Math.max(moved.held[i], reloaded.held[i]);
      return said >= 0 ? said : n;
    });
    const total = options.train.count;
    try {
      if (reported.reduce((a, b) => a + b, 0) === total) held.splice(0, reported.length, ...reported);
      else await this.recovery.reconcile();
    } finally {
      countsIn();
    }
    const record: RedistributionRecord = {
      index: this.state.records.length,
      events: drain.applied.map((r) => r.seq),
      triggeredAt,
      startedAt,
      obtrusivenessMs: emptiedAt === null ? null : emptiedAt - triggeredAt,
      migrationMs: betweenPasses ? options.clock() - triggeredAt : null,
      exemplarsMoved: split.move.reduce((s, t) => s + t.count, 0),
      // What was reloaded, by id (whatever the plan's counts said), as in `deadlines`.
      exemplarsReloaded: [...reloaded.reloadedFrom.values()].reduce((s, n) => s + n, 0),
      bytesMoved: moved.bytes,
      transfers: transfers.length,
      countsAfter: [...held],
      reason: reasonFor(decision.reason, drain.changes),
      deadlines: [...deadlines.values()].map((d) => ({
        host: d.host,
        deadlineMs: d.deadlineMs,
        // A host that held nothing to move was empty in time, whenever the move started.
        met:
          !transfers.some((t) => t.from === d.worker) || (doneAt.get(d.worker) ?? startedAt) <= d.deadlineAt,
        reloaded: reloaded.reloadedFrom.get(d.worker) ?? 0,
      })),
    };
    this.state.records.push(record);
    this.awaitingResume.push(record);
    options.onRedistribution?.(record);
    return settle();
  }
}

/**
 * What a redistribution answers, for its record: "evacuate" (a vacated host held data), else
 * what the events it applied changed — a host available again (or joined) before a load —
 * else "gain" (the measured speeds alone). An event that changed nothing (an `available` for
 * a host already available) is no reason.
 */
function reasonFor(decided: RedistributeReason, changes: readonly HostChange[]): RecordReason {
  // A record is made only for a move: never "small-gain".
  if (decided !== 'gain') return 'evacuate';
  if (changes.some((c) => c.after.available && !c.before.available)) return 'available';
  if (changes.some((c) => c.after.load !== c.before.load)) return 'load';
  return decided;
}
