/**
 * Standard output that a reader may close early (`admove … | head -1`). That is the reader's
 * choice, not an error, and it must not cost the run its other outputs: once stdout is
 * closed, printing stops and the work goes on, so --report, --save-model and --checkpoint
 * are still written and the exit code is the run's own.
 */
let closed = false;

/** Call once at start-up: an EPIPE on stdout marks it closed instead of ending the process. */
export function watchStdout(): void {
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    closed = true;
    if (error.code !== 'EPIPE' && error.code !== 'ERR_STREAM_DESTROYED') {
      process.stderr.write(
        `admove: standard output failed (${error.code ?? error.message}); printing stopped, the run goes on\n`,
      );
    }
  });
}

/** Write `text` to stdout unless the reader has gone. */
export function print(text: string): void {
  if (closed || process.stdout.destroyed || !process.stdout.writable) return;
  process.stdout.write(text);
}
