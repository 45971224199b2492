import { describe, expect, it } from 'vitest';
import { createOptKernel } from '../../apps/opt/model/kernel.ts';
import { initWeights, type NetworkShape } from '../../apps/opt/model/network.ts';
import { columnsFromTable } from '../../framework/exemplars/batch.ts';
import { AdmJob } from '../../framework/runtime/adm-job.ts';
import { SeededRandom } from '../../framework/util/random.ts';
import { computingWatch, jobOptions, randomColumns, worstRelativeError } from './helpers.ts';

const OPT_KERNEL = new URL('../../apps/opt/model/kernel.ts', import.meta.url).href;

describe('exactly once with the Opt kernel', () => {
  it('a gradient whose pass is interrupted by redistributions equals the uninterrupted one to 1e-9', async () => {
    const data = randomColumns(6000, 40, 21);
    const shape: NetworkShape = { inputs: 40, hidden: 16, outputs: 3, loss: 'xent' };
    const weights = initWeights(shape, new SeededRandom(3));
    const kernel = createOptKernel(shape);
    const reference = new Float64Array(kernel.accumulatorLength(weights, 40));
    kernel.accumulate(columnsFromTable(data.features, data.labels, 40), 0, data.count, weights, reference);

    const watch = computingWatch();
    const job = await AdmJob.start(
      jobOptions(data, [1, 2, 4], {
        kernelModule: OPT_KERNEL,
        kernelConfig: shape,
        calibrationParams: weights,
        onTransition: watch.onTransition,
      }),
    );
    try {
      const quiet = await job.pass(weights);
      const events: [number, () => void][] = [
        [2, () => job.send({ type: 'vacate', host: 'h2' })],
        [6, () => job.send({ type: 'load', host: 'h0', fraction: 0.3 })],
        [10, () => job.send({ type: 'available', host: 'h2' })],
      ];
      const computing = watch.next();
      const pass = job.pass(weights);
      await computing;
      for (const [ms, send] of events) setTimeout(send, ms - 2);
      const interrupted = await pass;
      expect(job.redistributions().length).toBeGreaterThan(0);
      expect(job.stateTransitions().map((t) => t.state)).toContain('{"computing":"migrationPending"}');
      for (const acc of [quiet, interrupted]) {
        expect(acc[1]).toBe(data.count);
        expect(worstRelativeError(acc, reference)).toBeLessThan(1e-9);
      }
    } finally {
      await job.close();
    }
  });
});
