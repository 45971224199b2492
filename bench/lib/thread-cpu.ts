/**
 * CPU time of the main threads in a move, for `npm run bench -- tcp` to show where a move's
 * time goes beside a raw send's: on 2 cores, wall time an end does not spend on the CPU is
 * time it waited (for the other end, for a core, for the network stack). The main thread is
 * where an agent streams and receives a move, and where the raw ends do all their work.
 *
 * Read from `/proc/PID/task/PID/schedstat` (nanoseconds). The kernel adds a thread's time to
 * that counter when the thread stops running and at each scheduler tick, so a thread of
 * another process that is running when read is behind by up to one tick (4 ms at HZ=250),
 * never ahead. For this process's own main thread `process.cpuUsage()` is called first: the
 * kernel then brings the caller's counter up to date (in a probe, 2,915 reads in 40 ms of
 * busy time gave 2,915 distinct values that way, 13 without it).
 */
import { readFileSync } from 'node:fs';

/** Reads a CPU time in ms, or null where it cannot be read. */
export type CpuClock = () => number | null;

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

/** The main thread of process `pid`. */
export function mainThreadOf(pid: number | undefined): CpuClock {
  return () => mainThreadCpuMs(pid);
}

/** This process's main thread, up to date (call it from the main thread). */
export const thisMainThread: CpuClock = () => {
  process.cpuUsage();
  return mainThreadCpuMs(process.pid);
};

/** What each clock reads now (null where it cannot). */
export function readClocks(clocks: readonly CpuClock[]): (number | null)[] {
  return clocks.map((clock) => clock());
}

/** CPU ms each clock has counted since `before` (its reading then; null where either is). */
export function cpuSince(clocks: readonly CpuClock[], before: readonly (number | null)[]): (number | null)[] {
  return clocks.map((clock, i) => {
    const now = clock();
    const then = before[i];
    return now === null || then === null || then === undefined ? null : now - then;
  });
}
