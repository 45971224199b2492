/**
 * CPU time of a process's main thread, for `npm run bench -- tcp` to show where a move's
 * time goes beside a raw send's: on 2 cores, wall time the two ends do not spend on the CPU
 * is time they waited (for each other, for the cores, for the network stack).
 *
 * The main thread only (`/proc/PID/task/PID/schedstat`, nanoseconds): it is where an agent
 * streams and receives a move, and where the raw sender and receiver do all their work.
 * Reading one file costs tens of microseconds, so it can be read inside a timed window;
 * a whole process's CPU (`/proc/PID/stat`) counts in 10 ms ticks, too coarse for a move.
 */
import { readFileSync } from 'node:fs';

/** CPU time of process `pid`'s main thread so far, in ms, or null (no /proc, or gone). */
export function mainThreadCpuMs(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const ns = Number(readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').split(' ')[0]);
    return Number.isFinite(ns) ? ns / 1e6 : null;
  } catch {
    return null;
  }
}

/** CPU ms each of `pids`' main threads has used since `before` (null where either reading is). */
export function cpuSince(
  pids: readonly (number | undefined)[],
  before: readonly (number | null)[],
): (number | null)[] {
  return pids.map((pid, i) => {
    const now = mainThreadCpuMs(pid);
    const then = before[i];
    return now === null || then === null ? null : now - then;
  });
}
