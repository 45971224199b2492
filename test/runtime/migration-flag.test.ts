import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyRows } from '../../framework/exemplars/batch.ts';
import { ThreadWorker } from '../../framework/runtime/thread-worker.ts';
import { ID_SUM_KERNEL } from '../fixtures/id-sum-kernel.ts';
import { randomColumns } from './helpers.ts';

describe('the stop flag in shared memory', () => {
  let worker: ThreadWorker;
  const data = randomColumns(50_000, 4, 11);
  const params = new Float64Array(1);

  beforeAll(async () => {
    worker = await ThreadWorker.start({
      index: 0,
      host: 'h0',
      kernelModule: ID_SUM_KERNEL,
      kernelConfig: { spin: 400 },
      livenessMs: 3000,
    });
    await worker.insert([copyRows(data, 0, data.count)]);
  });
  afterAll(() => worker.close());

  for (const [label, rate] of [
    ['a throttled (emulated slow) worker', 20_000],
    ['an unthrottled worker', 0],
  ] as const) {
    it(`stops ${label} within one chunk of the flag being set`, async () => {
      worker.setRateLimit(rate);
      const chunkRows = 32;
      const pass = worker.pass(params, true, chunkRows, true);
      // Wait until the worker is in its loop, then raise the flag.
      while (worker.chunksDone() < 3) await new Promise((r) => setTimeout(r, 1));
      worker.stop();
      const atFlag = worker.chunksDone();
      const reply = await pass;
      const after = worker.chunksDone() - atFlag;
      expect(reply.interrupted).toBe(true);
      expect(reply.remaining).toBeGreaterThan(0);
      expect(reply.processed + reply.remaining).toBe(data.count);
      expect(after).toBeLessThanOrEqual(1);
      // Resuming (not fresh) counts exactly the rest.
      worker.setRateLimit(0);
      const rest = await worker.pass(params, false, chunkRows, true);
      expect(rest.interrupted).toBe(false);
      expect(reply.processed + rest.processed).toBe(data.count);
      expect(reply.acc[0] + rest.acc[0]).toBe(data.count);
    });
  }
});
