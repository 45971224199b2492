/**
 * Timers a job schedules its waits with (deferred events, the wait for a host). The same
 * shape as xstate's `Clock`, so the pass machine's delays run on them too. Real by default;
 * a deterministic harness supplies virtual ones.
 */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The longest wait a timer takes: Node fires a longer one at once (TimeoutOverflowWarning). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Node's own timers. */
export const realTimers: Timers = {
  setTimeout(fn, ms) {
    return setTimeout(fn, ms);
  },
  clearTimeout(handle) {
    clearTimeout(handle as NodeJS.Timeout);
  },
};
