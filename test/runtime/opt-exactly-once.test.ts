import { describe, expect, it } from 'vitest';
import { createOptKernel } from '../../apps/opt/model/kernel.ts';
import { initWeights, type NetworkShape } from '../../apps/opt/model/network.ts';
import { createSimdKernel } from '../../apps/opt/model/simd-kernel.ts';
import { columnsFromTable } from '../../framework/exemplars/batch.ts';
import { AdmJob } from '../../framework/runtime/adm-job.ts';
import { SeededRandom } from '../../framework/util/random.ts';
import { computingWatch, jobOptions, randomColumns, worstRelativeError } from './helpers.ts';

/**
 * Both of Opt's kernels. The emulated hosts run at a fixed rate (SOLO_RATE instead of the
 * kernel's measured one, which the emulation would scale to), so the pass lasts past the
 * timed events however fast the kernel is: the SIMD kernel's would otherwise be over first.
 */
const SOLO_RATE = 100_000;
const KERNELS = [
  {
    name: 'JS',
    module: new URL('../../apps/opt/model/kernel.ts', import.meta.url).href,
    create: createOptKernel,
  },
  {
    name: 'SIMD',
    module: new URL('../../apps/opt/model/simd-kernel.ts', import.meta.url).href,
    create: createSimdKernel,
  },
];

const MODES = [
  { mode: 'rows handed over while computing', handOff: true, state: '{"computing":"handingOff"}' },
  { mode: 'workers stopped for the move', handOff: false, state: '{"computing":"migrationPending"}' },
];

describe.each(KERNELS)('exactly once with the Opt $name kernel', ({ module: OPT_KERNEL, create }) => {
  it.each(MODES)(
    'a gradient whose pass is interrupted by redistributions equals the uninterrupted one to 1e-9 ($mode)',
    async ({ handOff, state }) => {
      const data = randomColumns(6000, 40, 21);
      const shape: NetworkShape = { inputs: 40, hidden: 16, outputs: 3, loss: 'xent' };
      const weights = initWeights(shape, new SeededRandom(3));
      // The same kernel in one thread over one range: what the job's pieces must add up to.
      const kernel = create(shape);
      const reference = new Float64Array(kernel.accumulatorLength(weights, 40));
      kernel.accumulate(columnsFromTable(data.features, data.labels, 40), 0, data.count, weights, reference);

      const watch = computingWatch();
      const job = await AdmJob.start(
        jobOptions(data, [1, 2, 4], {
          kernelModule: OPT_KERNEL,
          kernelConfig: shape,
          calibrationParams: weights,
          soloRate: SOLO_RATE,
          onTransition: watch.onTransition,
          handOffWhileComputing: handOff,
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
        const states = job.stateTransitions().map((t) => t.state);
        expect(states).toContain(state);
        if (!handOff) expect(states).not.toContain('{"computing":"handingOff"}');
        for (const acc of [quiet, interrupted]) {
          expect(acc[1]).toBe(data.count);
          expect(worstRelativeError(acc, reference)).toBeLessThan(1e-9);
        }
      } finally {
        await job.close();
      }
    },
  );
});
