/**
 * Ctrl-C and SIGTERM at every phase of a command. Until a command asks for a graceful stop
 * (before that there is nothing to save: flags are being read), the first signal exits at
 * once with 130 (SIGINT) or 143 (SIGTERM). Once `admove opt` has checked its flags and
 * outputs, the first signal asks the run to stop after the current iteration — it then ends
 * the threads and writes the report marked "interrupted" and the checkpoint — and a second
 * one exits at once. Files being written are never left half-done either way (atomic-file.ts).
 */
export class StopSignals {
  private readonly controller = new AbortController();
  private graceful = false;
  private code = 130;
  private readonly onSignal = (signal: NodeJS.Signals) => {
    const code = signal === 'SIGTERM' ? 143 : 130;
    if (!this.graceful || this.controller.signal.aborted) process.exit(code);
    this.code = code;
    process.stderr.write(`admove: ${signal}: stopping after this iteration (again to quit at once)\n`);
    this.controller.abort();
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

  /** From now on the first signal stops the run gracefully; returns the signal to watch. */
  stopGracefully(): AbortSignal {
    this.graceful = true;
    return this.controller.signal;
  }

  /** 130 after SIGINT, 143 after SIGTERM. */
  get exitCode(): number {
    return this.code;
  }

  dispose(): void {
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
  }
}
