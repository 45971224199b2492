/**
 * Milliseconds on the process's monotonic clock, the same in every thread of the process
 * (unlike `performance.now()`, whose origin is each thread's start): a thread can timestamp
 * an event and the coordinator place it on its own clock.
 */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
