/**
 * A pass held during a move between passes, then another move between passes (found by the
 * soak, test/properties/README.md): the held pass's flag outlived it, so the second move
 * ended by starting a pass nobody asked for, with the last pass's parameters, and the app's
 * next pass was settled with its result. Real worker threads; every pass's parameters are its
 * number and go into the sums (`paramsInSums`), so a result of the wrong pass cannot match.
 */
import { describe, expect, it } from 'vitest';
import { AdmJob } from '../../framework/runtime/adm-job.ts';
import { expectSameSums, jobOptions, randomColumns, referenceSums, until } from './helpers.ts';

const N = 8000;
const data = randomColumns(N, 4, 31);
const reference = referenceSums(data);

function expectedFor(pass: number): Float64Array {
  const e = Float64Array.from(reference);
  e[2] += N * pass;
  return e;
}

describe('a pass held during a move between passes', () => {
  it('leaves nothing behind: the next move between passes starts no pass, the next pass is its own', async () => {
    const states: string[] = [];
    const job = await AdmJob.start(
      jobOptions(data, [1, 1, 1], {
        emulateSpeeds: false,
        kernelConfig: { spin: 1000, paramsInSums: true },
        onTransition: (t) => {
          if (t.actor === 'pass') states.push(t.state);
        },
      }),
    );
    try {
      expectSameSums(await job.pass(Float64Array.of(1)), expectedFor(1));
      // Between passes: the vacate's rows are handed over at once, and the pass sent now waits.
      const before = states.length;
      job.send({ type: 'vacate', host: 'h0' });
      expectSameSums(await job.pass(Float64Array.of(2)), expectedFor(2));
      // It was held: the machine handed the rows over first, then computed.
      expect(states.slice(before, before + 2)).toEqual(['{"idle":"handingOff"}', '{"computing":"running"}']);
      expect(job.counts()[0]).toBe(0);
      // Another vacate between passes; once its move is over, the machine waits for a pass.
      const from = states.length;
      job.send({ type: 'vacate', host: 'h1' });
      await until(() => states.length > from + 1);
      expect(states.slice(from)).toEqual(['{"idle":"handingOff"}', '{"idle":"quiet"}']);
      expectSameSums(await job.pass(Float64Array.of(3)), expectedFor(3));
      expect([...job.counts()]).toEqual([0, 0, N]);
    } finally {
      await job.close();
    }
  }, 30_000);
});
