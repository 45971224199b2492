/**
 * The trace used when the user gives none: it takes away the job's best host for the
 * middle third of the run, which is the case adaptive data movement exists for.
 *
 * - The fastest host (highest speed; ties → lowest index) is vacated once the job has
 *   completed v = round(iterations / 3) iterations, clamped to [1, iterations − 1], and
 *   comes back (available) after a = round(2 · iterations / 3), clamped to
 *   [v + 1, iterations]. For 30 iterations: vacate at 10, available at 20. For 2: at 1
 *   and 2 (back only at the very end).
 * - Iteration-timed, so the same trace means the same thing on fast and slow machines.
 * - Empty when there is a single host (vacating the only host would stall the job: there
 *   is nowhere for its data to go) or fewer than 2 iterations (no point inside the run to
 *   vacate at).
 */
import type { HostName } from '../framework/events/types.ts';
import type { Trace } from './trace.ts';

export interface DefaultTraceOptions {
  readonly hosts: readonly HostName[];
  /** Relative speed of each host, same order as `hosts`; higher is faster. */
  readonly speeds: readonly number[];
  /** Iterations the job will run. */
  readonly iterations: number;
}

/** Index of the fastest host: highest speed, ties → lowest index. */
export function fastestHost(speeds: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < speeds.length; i++) if (speeds[i] > speeds[best]) best = i;
  return best;
}

export function defaultTrace({ hosts, speeds, iterations }: DefaultTraceOptions): Trace {
  if (speeds.length !== hosts.length) {
    throw new RangeError(
      `defaultTrace: ${speeds.length} speeds for ${hosts.length} hosts; give one speed per host`,
    );
  }
  speeds.forEach((s, i) => {
    if (!(Number.isFinite(s) && s > 0))
      throw new RangeError(`defaultTrace: speeds[${i}] = ${s}; speeds must be > 0`);
  });
  if (!(Number.isSafeInteger(iterations) && iterations >= 0)) {
    throw new RangeError(`defaultTrace: iterations = ${iterations}; must be a whole number ≥ 0`);
  }
  if (hosts.length < 2 || iterations < 2) return { events: [] };
  const i = fastestHost(speeds);
  const host = hosts[i];
  const vacateAt = Math.min(Math.max(Math.round(iterations / 3), 1), iterations - 1);
  const availableAt = Math.min(Math.max(Math.round((2 * iterations) / 3), vacateAt + 1), iterations);
  return {
    description: `default trace: the fastest host ${host} (speed ${speeds[i]}) is away from iteration ${vacateAt} to ${availableAt} of ${iterations}`,
    events: [
      {
        at: { iteration: vacateAt },
        event: { type: 'vacate', host },
        note: 'fastest host reclaimed by its owner',
      },
      { at: { iteration: availableAt }, event: { type: 'available', host }, note: 'fastest host back' },
    ],
  };
}
