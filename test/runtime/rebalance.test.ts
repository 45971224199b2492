import { describe, expect, it } from 'vitest';
import { AdmJob } from '../../framework/runtime/adm-job.ts';
import type { WorkerSetup } from '../../framework/runtime/start-workers.ts';
import type { ThreadWorker } from '../../framework/runtime/thread-worker.ts';
import { checkIdsExactlyOnce, expectSameSums, jobOptions, randomColumns, referenceSums } from './helpers.ts';

describe('rebalancing on measured speed alone', () => {
  it('a host slowed by something no event reported loses data at the next pass boundary', async () => {
    const N = 6000;
    const data = randomColumns(N, 3, 31);
    const reference = referenceSums(data);
    const job = await AdmJob.start(jobOptions(data, [1, 1], { kernelConfig: { spin: 800 } }));
    try {
      expect([...job.counts()]).toEqual([3000, 3000]);
      // Another user's process takes most of h0: it really runs at a quarter of its speed,
      // and the scheduler says nothing. (The emulated rate limit is internal; tests may use it.)
      const setup = (job as unknown as { setup: WorkerSetup }).setup;
      const h0 = setup.links[0] as ThreadWorker;
      h0.setRateLimit(h0.rateLimit() / 4);
      // Speeds are smoothed and a rebalance waits for some compute after the last one, so give
      // it up to 20 passes (a loaded machine measures noisily) to head for the 1:4 split.
      for (let k = 0; k < 20 && job.counts()[0] > 2000; k++) {
        expectSameSums(await job.pass(new Float64Array(1)), reference);
      }
      expect(job.events()).toHaveLength(0);
      expect(job.redistributions().length).toBeGreaterThan(0);
      expect(job.redistributions()[0].reason).toBe('gain');
      // Toward the 1:4 split (1,200 / 4,800) the measured rates call for.
      expect(job.counts()[0]).toBeLessThanOrEqual(2000);
      expect(checkIdsExactlyOnce(await job.heldIds(), N)).toBeNull();
    } finally {
      await job.close();
    }
  }, 60_000);

  it('an evacuation moves only the vacated data, even when measured speeds would move more', async () => {
    const N = 6000;
    const data = randomColumns(N, 3, 32);
    const reference = referenceSums(data);
    const job = await AdmJob.start(
      jobOptions(data, [1, 1, 1], { kernelConfig: { spin: 800 }, rebalance: false }),
    );
    try {
      // h1 really runs at a quarter of its speed: the estimator learns it, nothing moves yet.
      const setup = (job as unknown as { setup: WorkerSetup }).setup;
      const h1 = setup.links[1] as ThreadWorker;
      h1.setRateLimit(h1.rateLimit() / 4);
      for (let k = 0; k < 3; k++) expectSameSums(await job.pass(new Float64Array(1)), reference);
      expect(job.redistributions()).toHaveLength(0);
      const before = [...job.counts()];
      job.send({ type: 'vacate', host: 'h0' });
      expectSameSums(await job.pass(new Float64Array(1)), reference);
      const [evacuation] = job.redistributions();
      // A full re-partition by the measured speeds would also take most of h1's rows to h2.
      // Where h0's rows go depends on the speeds measured (on a loaded machine h2 may measure
      // slow too); that nobody else gives any up does not.
      expect(evacuation.exemplarsMoved).toBe(before[0]);
      const after = [...job.counts()];
      expect(after[0]).toBe(0);
      expect(after[1]).toBeGreaterThanOrEqual(before[1]);
      expect(after[2]).toBeGreaterThanOrEqual(before[2]);
      expect(checkIdsExactlyOnce(await job.heldIds(), N)).toBeNull();
    } finally {
      await job.close();
    }
  }, 60_000);
});
