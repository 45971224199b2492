/**
 * Ctrl-C and SIGTERM at every phase of a command. Until a command asks for a graceful stop
 * (before that there is nothing to save: flags are being read), the first signal exits at
 * once with 130 (SIGINT) or 143 (SIGTERM). Once `admove opt` has checked its flags and
 * outputs, the first signal asks the run to stop after the current iteration — it then ends
 * the threads and writes the report marked "interrupted" and the checkpoint — and a second
 * one exits at once. Files being written are never left half-done either way (atomic-file.ts).
 *
 * Under Slurm (`admove slurm`) SIGUSR1 is a notice too, and a repeated signal never forces an
 * exit: Slurm sends a notice to a task more than once (from the step and through srun) and
 * kills what is left itself when the grace time is over.
 */
export class StopSignals {
  private readonly controller = new AbortController();
  private graceful = false;
  private repeatsForce = true;
  private readonly watched: NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];
  private code = 130;
  private reason = '';
  private readonly onSignal = (signal: NodeJS.Signals) => {
    const code = exitCodeOf(signal);
    if (!this.graceful || (this.controller.signal.aborted && this.repeatsForce)) process.exit(code);
    this.stop(code, signal);
  };

  constructor() {
    process.on('SIGINT', this.onSignal);
    process.on('SIGTERM', this.onSignal);
    // Take over from the launcher's early handler (admove.mjs, `exitAtOnce`) only now that
    // ours is in: between removing one handler and adding another, a signal can be lost.
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      for (const listener of process.listeners(signal)) {
        if (listener.name === 'exitAtOnce') process.off(signal, listener);
      }
    }
  }

  /** Also treat `signal` as a notice to stop (SIGUSR1 under Slurm). */
  stopAlsoOn(signal: NodeJS.Signals): void {
    if (this.watched.includes(signal)) return;
    this.watched.push(signal);
    process.on(signal, this.onSignal);
  }

  /** From now on a repeated signal is one more notice, never an exit at once. */
  ignoreRepeats(): void {
    this.repeatsForce = false;
  }

  /** From now on the first signal stops the run gracefully; returns the signal to watch. */
  stopGracefully(): AbortSignal {
    this.graceful = true;
    return this.controller.signal;
  }

  /**
   * Stop gracefully for a reason other than a signal (the scheduler ended the job): exit code 75
   * (EX_TEMPFAIL: the work is not done and can go on from its checkpoint).
   */
  requestStop(reason: string): void {
    this.stop(75, reason);
  }

  private stop(code: number, why: string): void {
    if (this.controller.signal.aborted) return;
    this.code = code;
    this.reason = why;
    const again = this.repeatsForce && why.startsWith('SIG') ? ' (again to quit at once)' : '';
    process.stderr.write(`admove: ${why}: stopping after this iteration${again}\n`);
    this.controller.abort();
  }

  /** 130 after SIGINT, 143 after SIGTERM, 138 after SIGUSR1, 75 after `requestStop`. */
  get exitCode(): number {
    return this.code;
  }

  /** What stopped the run: the signal's name or the reason given; '' while it runs. */
  get stopReason(): string {
    return this.reason;
  }

  dispose(): void {
    for (const signal of this.watched) process.off(signal, this.onSignal);
  }
}

function exitCodeOf(signal: NodeJS.Signals): number {
  return signal === 'SIGTERM' ? 143 : signal === 'SIGUSR1' ? 138 : 130;
}
