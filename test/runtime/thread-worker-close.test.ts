import { describe, expect, it } from 'vitest';
import { threadTransport } from '../../framework/runtime/thread-worker.ts';
import { ID_SUM_KERNEL } from '../fixtures/id-sum-kernel.ts';
import { randomColumns } from './helpers.ts';

describe('a thread worker that faults with requests still queued behind the failed one', () => {
  it('fails them all with its fault, and their late replies raise no uncaught error', async () => {
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown) => uncaught.push(error);
    process.on('uncaughtException', onUncaught);
    try {
      for (let round = 0; round < 10; round++) {
        const worker = await threadTransport.start({
          index: 0,
          host: 'h0',
          kernelModule: ID_SUM_KERNEL,
          kernelConfig: { spin: 0 },
          livenessMs: 2000,
          fault: { kind: 'throw', when: 'during-transfer', count: 1 },
        });
        // The first insert throws; piscina hands the thread the next one before the rejection
        // is seen, so its reply comes back after the pool has been destroyed.
        const inserts = Array.from({ length: 4 }, (_, i) =>
          worker.insert([randomColumns(10 + 100 * i, 5, round * 10 + i)]).catch((e: unknown) => e),
        );
        const outcomes = await Promise.all(inserts);
        for (const o of outcomes) expect(o).toBeInstanceOf(Error);
        expect(worker.alive).toBe(false);
        await new Promise((r) => setTimeout(r, 30));
        await worker.close();
      }
    } finally {
      process.off('uncaughtException', onUncaught);
    }
    expect(uncaught.map(String)).toEqual([]);
  }, 60_000);
});
