/**
 * An error caused by what a user gave us (a flag, a file, an event), not by a bug.
 * The CLI prints `message` alone, on one line, with no stack trace, and exits non-zero.
 * Messages name the thing that was wrong (file, line, field, flag) and say how to fix it.
 */
export class UserError extends Error {
  override readonly name = 'UserError';
}

export function isUserError(error: unknown): error is UserError {
  return error instanceof UserError;
}

/**
 * The run cannot go on, through no fault in the user's input and no bug in admove: every
 * host left and none came back, every worker failed, a worker failed while starting, the
 * app's kernel fails everywhere. The CLI prints `message` on one line and exits 1.
 */
export class RunFailure extends Error {
  override readonly name: string = 'RunFailure';
}

/** A pass gave up waiting for a host because the run is being interrupted (Ctrl-C, SIGTERM). */
export class JobInterrupted extends Error {
  override readonly name = 'JobInterrupted';
  constructor() {
    super('interrupted while waiting for a host to become available');
  }
}
