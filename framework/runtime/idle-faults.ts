import type { Actor } from 'xstate';
import type { passMachine } from '../machine/pass-machine.ts';
import type { FaultRecovery } from './fault-recovery.ts';
import type { WorkerFault } from './faults.ts';
import type { HandOffsWithoutStopping } from './hand-offs-without-stopping.ts';
import type { JobState } from './job-state.ts';
import type { WorkerLink } from './worker-link.ts';

/**
 * Workers that fail between requests (`WorkerLink.onIdleFault`: a connection closed, an agent
 * gone quiet, a thread failed idle). A vacated worker may never get another request, so
 * without this its fault never reached the report. Each is taken up by a recovery
 * (`worker.lost` to the pass machine), which finds what the worker held, counted or not (rows
 * handed to it in a pass are counted only at the pass's end), and reloads it.
 *
 * Only while no move, hand-off or recovery is under way: a worker given up in the middle of a
 * move it is part of (a receiver with no rows yet, say) left that move's recovery unable to
 * tell its rows were missing (found by review). `take` runs again after every step of the
 * pass machine.
 */
export class IdleFaults {
  private readonly heard: WorkerFault[] = [];

  constructor(
    private readonly state: JobState,
    private readonly recovery: FaultRecovery,
    private readonly handOffs: HandOffsWithoutStopping,
    private readonly machine: () => Actor<typeof passMachine> | null,
  ) {}

  /** Listen to `link` (deferred: the link tells us from inside its own teardown). */
  watch(link: WorkerLink): void {
    link.onIdleFault?.((fault) =>
      queueMicrotask(() => {
        this.recovery.heardFailing(fault);
        this.heard.push(fault);
        this.take();
      }),
    );
  }

  /** Tell the pass machine of the faults heard, if it is between steps. */
  take(): void {
    if (this.heard.length === 0 || !this.quiet()) return;
    for (const fault of this.heard.splice(0)) {
      if (this.state.lost[fault.worker]) continue; // a request's failure got there first
      this.machine()?.send({ type: 'worker.lost' });
    }
  }

  private quiet(): boolean {
    if (this.handOffs.inFlight || this.handOffs.launchPending) return false;
    // Before the first pass there is no machine to tell: they wait for it (its first step).
    const s = this.machine()?.getSnapshot();
    if (!s) return false;
    // Not while computing: a failed worker in the slice fails it (and is recovered); one
    // that was not is taken up when the pass ends.
    return (
      s.matches({ idle: 'quiet' }) ||
      s.matches({ idle: 'recoveryDue' }) ||
      s.matches('waitingForHost') ||
      s.matches('waitingToRecover')
    );
  }
}
