import type { RedistributionRecord } from '../../framework/index.ts';
import type { OptJob } from './opt-job.ts';
import { sleep } from './timing.ts';

/**
 * One move, split into what the job waited for and what it did:
 * - `deferralMs` = startedAt − triggeredAt: from the event's receipt until the redistribution
 *   started (for a vacate: every worker stopping at its next chunk and replying; for an
 *   `available`: also the job's deliberate wait, `minIntervalMs`, before a non-urgent move);
 * - `evacuationMs` = obtrusiveness − deferral: from the start until the vacated worker was empty;
 * - `moveMs` = migration cost − deferral: from the start until every worker computed again.
 */
export interface MoveTiming {
  readonly record: RedistributionRecord;
  readonly deferralMs: number;
  readonly evacuationMs: number | null;
  readonly moveMs: number | null;
}

export interface VacateSample {
  /** The evacuation, found by the vacate's own sequence number. */
  readonly evacuation: MoveTiming;
  /** The move back once the host was available again, found by the `available` event's seq (null: not in time). */
  readonly back: MoveTiming | null;
  /** The vacate was sent while a pass was computing and the pass had not finished. */
  readonly midPass: boolean;
  /** Chunks all workers had completed in that pass when the vacate was sent. */
  readonly chunksIntoPass: number;
  /** Exemplars the vacated worker held when the vacate was sent. */
  readonly heldExemplars: number;
  /** Exemplars held by every worker when the vacate was sent, in host order. */
  readonly countsBefore: readonly number[];
}

/** How long to keep computing for a move back the job may defer (non-urgent events wait). */
const BACK_WAIT_MS = 5000;
/** How often the coordinator looks at the workers' chunk counter: cheap, and no busy loop on 2 cores. */
const POLL_MS = 1;
/** The longest a spinning wait for chunks may take. */
const SPIN_MS = 200;

export function timing(record: RedistributionRecord): MoveTiming {
  const deferralMs = record.startedAt - record.triggeredAt;
  return {
    record,
    deferralMs,
    evacuationMs: record.obtrusivenessMs === null ? null : record.obtrusivenessMs - deferralMs,
    moveMs: record.migrationMs === null ? null : record.migrationMs - deferralMs,
  };
}

function bySeq(j: OptJob, seq: number): RedistributionRecord | undefined {
  return j.job.redistributions().find((r) => r.events.includes(seq));
}

/**
 * Start a pass, vacate `host` once the workers have completed `afterChunks` chunks of it
 * (the job's own progress counter, so the event always lands mid-pass whatever the
 * machine's speed), and finish the pass (the migration cost ends when computing resumes).
 * Then make the host available again and compute until the data has moved back, so the
 * next repetition starts from the same split. Null when `host` holds no data to vacate.
 */
export async function vacateAndReturn(
  j: OptJob,
  host: string,
  afterChunks: number,
  /**
   * How the coordinator waits for the chunks: `sleep` polls every millisecond; `spin` reads
   * the counter without yielding, for passes shorter than a poll (the smallest sets: a whole
   * pass of 0.6 MB takes ~0.5 ms with the SIMD kernel). The workers compute on their own
   * threads meanwhile; the pass's own promise is looked at only afterwards.
   */
  wait: 'sleep' | 'spin' = 'sleep',
  /** Chunks a whole pass takes: fewer done when the vacate is sent means the pass was still on. */
  passChunks = Number.POSITIVE_INFINITY,
): Promise<VacateSample | null> {
  const { job } = j;
  const index = job.hosts.findIndex((h) => h.name === host);
  const countsBefore = [...job.counts()];
  if (countsBefore[index] === 0) return null;
  const base = job.chunksDone();
  let running = true;
  const pass = job.pass(j.weights).finally(() => {
    running = false;
  });
  if (wait === 'spin') {
    // At most SPIN_MS: a pass that ended with fewer chunks (a worker fault) must not hang this.
    const until = performance.now() + SPIN_MS;
    while (job.chunksDone() - base < afterChunks && performance.now() < until) {}
    await Promise.resolve(); // let a pass that has already ended say so
  } else {
    while (running && job.chunksDone() - base < afterChunks) await sleep(POLL_MS);
  }
  const chunksIntoPass = job.chunksDone() - base;
  // After a spin the pass's own promise may not have caught up yet: the counter decides too.
  const midPass = running && chunksIntoPass < passChunks;
  const vacate = job.send({ type: 'vacate', host });
  await pass;
  // Had the pass ended first, the next pass applies the vacate before computing.
  for (let extra = 0; bySeq(j, vacate.seq)?.migrationMs == null; extra++) {
    if (extra === 3) throw new Error(`vacating ${host} (event ${vacate.seq}) moved no data`);
    await job.pass(j.weights);
  }
  const evacuation = timing(bySeq(j, vacate.seq)!);
  const available = job.send({ type: 'available', host });
  // `available` is not urgent: the job applies it only after some computing.
  const t = performance.now();
  do await job.pass(j.weights);
  while (bySeq(j, available.seq)?.migrationMs == null && performance.now() - t < BACK_WAIT_MS);
  const back = bySeq(j, available.seq);
  return {
    evacuation,
    back: back?.migrationMs == null ? null : timing(back),
    midPass,
    chunksIntoPass,
    heldExemplars: countsBefore[index],
    countsBefore,
  };
}

/** Chunks all workers complete in one pass (measured on a pass of `j`), for `vacateAndReturn`. */
export async function chunksPerPass(j: OptJob): Promise<{ chunks: number; passMs: number }> {
  const c = j.job.chunksDone();
  const t = performance.now();
  await j.job.pass(j.weights);
  return { chunks: j.job.chunksDone() - c, passMs: performance.now() - t };
}
