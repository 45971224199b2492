import type { Trace } from '../../scheduler-stub/index.ts';

/**
 * The first iteration after which `--patience` may end a run: one past the trace's last
 * iteration-timed event. An event fires once its iteration is complete and is applied by
 * the passes of the next one, so stopping any earlier would skip it — the default trace's
 * return of the vacated host would never happen. Wall-clock (`ms`) events are not waited
 * for: a run that ends before them simply does not see them.
 */
export function earliestEarlyStop(trace: Trace): number {
  let last = 0;
  for (const entry of trace.events) {
    if ('iteration' in entry.at) last = Math.max(last, entry.at.iteration + 1);
  }
  return last;
}

/**
 * Whether patience ends the run after `iteration`: `patience` iterations (≥ 1; 0 means
 * never) have passed without a lower validation error, and the trace is played out. The
 * runner also waits until the job has applied every event it received (a return can wait
 * for a later pass boundary than the first after it arrived).
 */
export function patienceRunsOut(rule: {
  readonly patience: number;
  readonly sinceBest: number;
  readonly iteration: number;
  readonly earliest: number;
}): boolean {
  return rule.patience > 0 && rule.sinceBest >= rule.patience && rule.iteration >= rule.earliest;
}
