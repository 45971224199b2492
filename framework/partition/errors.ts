/**
 * Errors of the partitioner.
 *
 * - `NoHostAvailable` is an expected run-time state, not a bug: every worker is vacated (or
 *   lost), so there is nowhere to put the exemplars. The runtime turns it into a
 *   "no host available, waiting" state and retries when an `available` event arrives.
 * - `PartitionInputError` means a caller passed numbers the partitioner cannot use (negative or
 *   fractional counts, a non-finite speed, a load outside (0, 1], mismatched lengths). By the time
 *   values reach this module they have been checked by the event handler and the config loader,
 *   so this is a bug in the caller; it is deliberately NOT a `UserError`, so its stack is kept.
 */

export class NoHostAvailable extends Error {
  override readonly name = 'NoHostAvailable';
  /** Number of workers the partitioner was given (all of them unavailable). */
  readonly workerCount: number;

  constructor(workerCount: number, message?: string) {
    super(
      message ??
        (workerCount === 0
          ? 'no host available: the worker list is empty'
          : `no host available: none of the ${workerCount} workers may take data (vacated or lost); waiting for an 'available' event`),
    );
    this.workerCount = workerCount;
  }
}

export function isNoHostAvailable(error: unknown): error is NoHostAvailable {
  return error instanceof NoHostAvailable;
}

export class PartitionInputError extends RangeError {
  override readonly name = 'PartitionInputError';
}

/** A count of exemplars: a non-negative safe integer. */
export function checkCount(what: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new PartitionInputError(`${what} must be a non-negative integer, got ${value}`);
  }
}

/** One count per worker; `length` checks the list has the expected length. */
export function checkCounts(what: string, values: readonly number[], length?: number): void {
  if (length !== undefined && values.length !== length) {
    throw new PartitionInputError(`${what} has ${values.length} entries but there are ${length} workers`);
  }
  for (let i = 0; i < values.length; i++) checkCount(`${what}[${i}]`, values[i]);
}

export function checkSpeed(what: string, value: number): void {
  if (!Number.isFinite(value) || value <= 0) {
    throw new PartitionInputError(`${what} must be a finite number > 0, got ${value}`);
  }
}

export function checkLoad(what: string, value: number): void {
  if (!Number.isFinite(value) || value <= 0 || value > 1) {
    throw new PartitionInputError(`${what} must be a fraction in (0, 1], got ${value}`);
  }
}

export function sum(values: readonly number[]): number {
  let s = 0;
  for (const v of values) s += v;
  return s;
}

/** The available hosts may not hold all the exemplars (their caps, `maxCount`, sum to less). */
export class NotEnoughRoom extends NoHostAvailable {
  constructor(
    workerCount: number,
    readonly total: number,
    readonly room: number,
  ) {
    super(
      workerCount,
      `not enough room: ${total} exemplars, but the available hosts may hold only ${room} (their memory caps); waiting for a host`,
    );
  }
}
