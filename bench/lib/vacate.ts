import type { RedistributionRecord } from '../../framework/index.ts';
import type { OptJob } from './opt-job.ts';
import { sleep } from './timing.ts';

export interface VacateSample {
  /** The evacuation: obtrusiveness and migration cost. */
  readonly record: RedistributionRecord;
  /** The move back once the host was available again (null if the job did not move back in time). */
  readonly back: RedistributionRecord | null;
  /** The vacate arrived while a pass was computing (otherwise between passes). */
  readonly midPass: boolean;
}

/** Passes to run, at most, waiting for a redistribution the job may defer (non-urgent events wait). */
const WAIT_MS = 5000;

/**
 * Vacate `host` about a third into a pass and finish (the migration cost ends when computing
 * resumes); then make it available again and compute until the data has moved back, so the
 * next repetition starts from the same split. Null when `host` holds no data to vacate.
 */
export async function vacateAndReturn(j: OptJob, host: string, passMs: number): Promise<VacateSample | null> {
  const { job } = j;
  if (job.counts()[job.hosts.findIndex((h) => h.name === host)] === 0) return null;
  const before = job.redistributions().length;
  let running = true;
  const pass = job.pass(j.weights).finally(() => {
    running = false;
  });
  await sleep(Math.max(0, passMs / 3));
  const midPass = running;
  job.send({ type: 'vacate', host });
  await pass;
  // The event may have landed between passes: the next pass redistributes first.
  for (let extra = 0; job.redistributions()[before]?.migrationMs == null; extra++) {
    if (extra === 3) throw new Error(`vacating ${host} moved no data`);
    await job.pass(j.weights);
  }
  const record = job.redistributions()[before];
  const beforeBack = job.redistributions().length;
  job.send({ type: 'available', host });
  // `available` is not urgent: the job may apply it only after some computing.
  const t = performance.now();
  do await job.pass(j.weights);
  while (job.redistributions()[beforeBack]?.migrationMs == null && performance.now() - t < WAIT_MS);
  return { record, back: job.redistributions()[beforeBack] ?? null, midPass };
}
