/**
 * Events that happen together (`vacate big` for each of an agent's workers) are queued first
 * and acted on once (framework/runtime/adm-job.ts `sendTogether`): the vacated workers' rows
 * move once, to the hosts that stay. Real worker threads.
 */
import { describe, expect, it } from 'vitest';
import { AdmJob } from '../../framework/runtime/adm-job.ts';
import { checkIdsExactlyOnce, jobOptions, randomColumns } from './helpers.ts';

async function vacateTwoTogetherBetweenPasses() {
  const data = randomColumns(3000, 4, 31);
  const job = await AdmJob.start(jobOptions(data, [1, 1, 1], { emulateSpeeds: false, rebalance: false }));
  try {
    await job.pass(new Float64Array(1));
    const events = [
      { type: 'vacate' as const, host: 'h0' },
      { type: 'vacate' as const, host: 'h1' },
    ];
    job.sendTogether(events);
    expect((await job.pass(new Float64Array(1)))[0]).toBe(data.count);
    expect(job.counts()).toEqual([0, 0, data.count]);
    expect(checkIdsExactlyOnce(await job.heldIds(), data.count)).toBeNull();
    const moved = job.redistributions().reduce((n, r) => n + r.exemplarsMoved, 0);
    return { moves: job.redistributions().length, moved };
  } finally {
    await job.close();
  }
}

describe('events sent together', () => {
  // One by one (`send` twice) this moved 2500 rows in two redistributions: h0's went to h1 too.
  it('move the vacated workers’ rows once, straight to the host that stays', async () => {
    expect(await vacateTwoTogetherBetweenPasses()).toEqual({ moves: 1, moved: 2000 });
  }, 60_000);
});
