/** What one run reached: the tallies show the generators get to every case the properties are about. */
export interface RunStats {
  steps: number;
  passes: number;
  /** Redistributions that moved data. */
  moves: number;
  /** ...of which with no event: measured speeds alone moved data. */
  rebalances: number;
  /** Load/available events applied later than received, the job having kept computing meanwhile. */
  deferred: number;
  /** Vacates that came in while data was moving or the job recovered. */
  vacatesDuringMove: number;
  /** Inserts planned while some host had a vacate pending (the pending-vacate rule applied). */
  plannedWithVacatePending: number;
  /** Deadline drains that dropped data and reloaded it from the source. */
  deadlineDrops: number;
  deadlinesMet: number;
  faultsInPass: number;
  faultsInMove: number;
  /** Vacates applied while every worker went on computing (rows handed from worker to worker). */
  handOffs: number;
  /** ...and between passes (the app working between them, every worker idle). */
  handOffsBetweenPasses: number;
  /** Vacates applied between passes by moving the data (no hand-off possible: a deadline, say). */
  movesBetweenPasses: number;
  /** A worker failed in a hand-off or move between passes, and the rows were recovered before the next pass. */
  recoveriesBetweenPasses: number;
  /** Faults of a worker handing rows over or taking them in (during a pass, or idle). */
  faultsInHandOff: number;
  faultsInRecovery: number;
  hung: number;
  threw: number;
  exited: number;
  /** Replies that came after their worker was given up on (ignored). */
  lateReplies: number;
  /** The pass machine waited with every host vacated... */
  waitedForHost: number;
  /** ...and a host came back. */
  returnedFromWaiting: number;
  /** A pass gave up: no host came back within the wait timeout. */
  waitTimeouts: number;
  rejected: number;
  superseded: number;
  /** Jobs left with no worker to hold the data (the pass fails, as it must). */
  noWorkerLeft: number;
  /** Times the holdings were audited (no move in flight). */
  audits: number;
  /**
   * Checks that would have audited but for a dead worker, not yet given up on, with a move
   * queued (how often the audit waits on that rule; see README.md).
   */
  auditsHeldByDeadMover: number;
  /** The run ended on a known coordinator bug it was allowed to hit. */
  knownBugs: number;
  bugRecoverPending: number;
  bugUnhandledRejection: number;
  bugComputesAfterGiveUp: number;
  bugNotSettled: number;
  bugFaultRecordLost: number;
}

export function emptyStats(): RunStats {
  return {
    steps: 0,
    passes: 0,
    moves: 0,
    rebalances: 0,
    deferred: 0,
    vacatesDuringMove: 0,
    plannedWithVacatePending: 0,
    deadlineDrops: 0,
    deadlinesMet: 0,
    faultsInPass: 0,
    faultsInMove: 0,
    handOffs: 0,
    handOffsBetweenPasses: 0,
    movesBetweenPasses: 0,
    recoveriesBetweenPasses: 0,
    faultsInHandOff: 0,
    faultsInRecovery: 0,
    hung: 0,
    threw: 0,
    exited: 0,
    lateReplies: 0,
    waitedForHost: 0,
    returnedFromWaiting: 0,
    waitTimeouts: 0,
    rejected: 0,
    superseded: 0,
    noWorkerLeft: 0,
    audits: 0,
    auditsHeldByDeadMover: 0,
    knownBugs: 0,
    bugRecoverPending: 0,
    bugUnhandledRejection: 0,
    bugComputesAfterGiveUp: 0,
    bugNotSettled: 0,
    bugFaultRecordLost: 0,
  };
}

/** Sums over runs, and in how many runs each case happened at least once. */
export class Tally {
  runs = 0;
  readonly sums = emptyStats();
  readonly reached = emptyStats();

  add(s: RunStats): void {
    this.runs++;
    for (const k of Object.keys(s) as (keyof RunStats)[]) {
      this.sums[k] += s[k];
      if (s[k] > 0) this.reached[k]++;
    }
  }

  /** Cases no run reached (known-bug hits are not a case to reach). */
  missing(): (keyof RunStats)[] {
    return (Object.keys(this.reached) as (keyof RunStats)[]).filter(
      // A held audit is a diagnostic, rare (once in 82,051 sequences), not a case to reach.
      (k) =>
        !k.startsWith('bug') && k !== 'knownBugs' && k !== 'auditsHeldByDeadMover' && this.reached[k] === 0,
    );
  }

  toString(): string {
    const parts = (Object.keys(this.sums) as (keyof RunStats)[]).map(
      (k) => `${k} ${this.sums[k]} (${this.reached[k]} runs)`,
    );
    return `${this.runs} runs: ${parts.join(', ')}`;
  }
}
