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

/** A pass gave up waiting for a host because the run is being interrupted (Ctrl-C, SIGTERM). */
export class JobInterrupted extends Error {
  override readonly name = 'JobInterrupted';
  constructor() {
    super('interrupted while waiting for a host to become available');
  }
}
