import { assign, setup } from 'xstate';
import { type DataParallelJob, passActor } from '../../framework/index.ts';
import { accumulatorLength } from './kernel.ts';

/**
 * Distributed k-means, the whole app: the coordinator holds the centroids; each pass sums,
 * per cluster, the count and the coordinates of the exemplars nearest to it (the kernel);
 * `updating` moves every centroid to the mean of its cluster. The `pass` state invokes the
 * framework's data pass, so vacate/available/load events during it are handled there —
 * nothing here knows about migration.
 */
export interface KMeansInput {
  readonly centroids: Float64Array;
  readonly k: number;
  readonly dim: number;
  readonly maxIterations: number;
  /** Stop when no centroid moves more than this (Euclidean). */
  readonly tolerance: number;
}

interface KMeansContext extends KMeansInput {
  iteration: number;
  inertia: number;
  shift: number;
}

export function createKMeansMachine(job: DataParallelJob) {
  return setup({
    types: {
      input: {} as KMeansInput,
      context: {} as KMeansContext,
      output: {} as { centroids: Float64Array; iterations: number; inertia: number },
    },
    actors: { pass: passActor(job) },
    guards: {
      finished: ({ context }) =>
        context.iteration >= context.maxIterations || context.shift <= context.tolerance,
    },
  }).createMachine({
    id: 'kmeans',
    context: ({ input }) => ({
      ...input,
      iteration: 0,
      inertia: Number.NaN,
      shift: Number.POSITIVE_INFINITY,
    }),
    initial: 'assigning',
    states: {
      assigning: {
        invoke: {
          src: 'pass',
          input: ({ context }) => ({ params: context.centroids }),
          onDone: {
            target: 'deciding',
            actions: assign(({ context, event }) => lloydUpdate(context, event.output)),
          },
        },
      },
      deciding: {
        always: [{ guard: 'finished', target: 'done' }, { target: 'assigning' }],
      },
      done: { type: 'final' },
    },
    output: ({ context }) => ({
      centroids: context.centroids,
      iterations: context.iteration,
      inertia: context.inertia,
    }),
  });
}

/** New centroids = cluster means (an empty cluster keeps its centroid). */
export function lloydUpdate(context: KMeansContext, acc: Float64Array): Partial<KMeansContext> {
  const { k, dim } = context;
  if (acc.length !== accumulatorLength(k, dim)) throw new Error('k-means: accumulator has the wrong length');
  const next = Float64Array.from(context.centroids);
  let shift = 0;
  for (let c = 0; c < k; c++) {
    const n = acc[1 + c];
    if (n === 0) continue;
    let d2 = 0;
    for (let j = 0; j < dim; j++) {
      const v = acc[1 + k + c * dim + j] / n;
      d2 += (v - next[c * dim + j]) ** 2;
      next[c * dim + j] = v;
    }
    shift = Math.max(shift, Math.sqrt(d2));
  }
  return { centroids: next, iteration: context.iteration + 1, inertia: acc[0], shift };
}
