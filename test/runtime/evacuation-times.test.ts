/**
 * Where a redistribution's two measures start (RedistributionRecord.triggeredAt), on real
 * worker threads: at the vacate it answers. Not at a load that happened to be applied with
 * it, and not at the `available` that finally gave the data of an earlier vacate somewhere
 * to go (both were so before: the earliest event applied).
 */
import { describe, expect, it } from 'vitest';
import { AdmJob } from '../../framework/runtime/adm-job.ts';
import { expectSameSums, jobOptions, randomColumns, referenceSums } from './helpers.ts';

const params = new Float64Array(1);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('an evacuation is timed from its vacate', () => {
  it('when its data had nowhere to go until a host came back', async () => {
    const data = randomColumns(600, 4, 31);
    const job = await AdmJob.start(jobOptions(data, [1, 1], { waitTimeoutMs: 20_000 }));
    try {
      expectSameSums(await job.pass(params), referenceSums(data));
      // Together: sent one by one, h0's rows would go to h1 before h1's own vacate came.
      const [vacate] = job.sendTogether([
        { type: 'vacate', host: 'h0' },
        { type: 'vacate', host: 'h1' },
      ]);
      const pass = job.pass(params);
      await sleep(300);
      const back = job.send({ type: 'available', host: 'h1' });
      expectSameSums(await pass, referenceSums(data));
      expect(job.counts()).toEqual([0, 600]);
      const r = job.redistributions().find((x) => x.reason === 'evacuate')!;
      // The redistribution applied only the `available`: the vacates were applied before it.
      expect(r.events).toEqual([back.seq]);
      expect(r.triggeredAt).toBe(vacate.receivedAt);
      // h0 held its rows for the 300 ms the job waited, and more: that is its obtrusiveness.
      expect(r.obtrusivenessMs).toBeGreaterThanOrEqual(300);
      expect(r.migrationMs).toBeGreaterThanOrEqual(r.obtrusivenessMs!);
    } finally {
      await job.close();
    }
  });

  it('not from a load that was waiting when the vacate came', async () => {
    const data = randomColumns(600, 4, 37);
    const job = await AdmJob.start(jobOptions(data, [1, 1, 1]));
    try {
      expectSameSums(await job.pass(params), referenceSums(data));
      // Between passes a load waits for the next pass; a vacate is applied at once, with it.
      const load = job.send({ type: 'load', host: 'h1', fraction: 0.5 });
      await sleep(200);
      const vacate = job.send({ type: 'vacate', host: 'h2' });
      expectSameSums(await job.pass(params), referenceSums(data));
      const r = job.redistributions().find((x) => x.events.includes(vacate.seq))!;
      // Both were applied by it (else this test would not test the case).
      expect(r.events).toContain(load.seq);
      expect(vacate.receivedAt - load.receivedAt).toBeGreaterThanOrEqual(150);
      expect(r.triggeredAt).toBe(vacate.receivedAt);
    } finally {
      await job.close();
    }
  });
});
