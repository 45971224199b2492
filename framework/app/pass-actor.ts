import { fromPromise } from 'xstate';
import type { DataParallelJob } from '../runtime/adm-job.ts';

/**
 * The data pass as an xstate actor an app's machine can invoke:
 * `invoke: { src: 'pass', input: ({ context }) => ({ params: context.weights }) }`.
 * Its output is the kernel's accumulator summed over every exemplar exactly once, however
 * many migrations happened during the pass (they run in the framework's pass machine).
 */
export function passActor(job: DataParallelJob) {
  return fromPromise<Float64Array, { params: Float64Array }>(({ input }) => job.pass(input.params));
}
