/** Distributed k-means on admove: the README's example of authoring an app. */
import { createActor, toPromise } from 'xstate';
import { type DataParallelJob, moduleBeside } from '../../framework/index.ts';
import { createKMeansMachine } from './kmeans-machine.ts';

export { createKMeansKernel, type KMeansConfig } from './kernel.ts';
export { createKMeansMachine, lloydUpdate } from './kmeans-machine.ts';

/** Worker threads import the kernel from here. */
export const KMEANS_KERNEL = moduleBeside(import.meta.url, './kernel');

/** Run k-means to convergence on `job`, starting from `centroids` (k × dim, row-major). */
export async function runKMeans(
  job: DataParallelJob,
  options: { centroids: Float64Array; k: number; dim: number; maxIterations?: number; tolerance?: number },
) {
  const actor = createActor(createKMeansMachine(job), {
    input: { maxIterations: 50, tolerance: 1e-6, ...options },
  });
  actor.start();
  return toPromise(actor);
}
