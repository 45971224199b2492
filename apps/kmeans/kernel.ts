import type { PassKernel } from '../../framework/index.ts';

/**
 * One Lloyd step of k-means as a pass kernel. Params: k centroids, row-major (k × dim).
 * Accumulator: [inertia, count_0 … count_{k-1}, sum_0 (dim floats) … sum_{k-1}] — partial
 * sums from any split of the data add up to the same step.
 */
export interface KMeansConfig {
  readonly k: number;
}

export function accumulatorLength(k: number, dim: number): number {
  return 1 + k + k * dim;
}

export function createKMeansKernel(config: KMeansConfig): PassKernel {
  const { k } = config;
  return {
    accumulatorLength: (_params, dim) => accumulatorLength(k, dim),
    accumulate(rows, start, end, centroids, acc) {
      const { dim, features } = rows;
      const sums = 1 + k;
      for (let r = start; r < end; r++) {
        const x = r * dim;
        let best = 0;
        let bestDist = Number.POSITIVE_INFINITY;
        for (let c = 0; c < k; c++) {
          const m = c * dim;
          let d2 = 0;
          for (let j = 0; j < dim; j++) {
            const diff = features[x + j] - centroids[m + j];
            d2 += diff * diff;
          }
          if (d2 < bestDist) {
            bestDist = d2;
            best = c;
          }
        }
        acc[0] += bestDist;
        acc[1 + best] += 1;
        const o = sums + best * dim;
        for (let j = 0; j < dim; j++) acc[o + j] += features[x + j];
      }
    },
  };
}

/** Entry point for worker threads (they import this module by URL). */
export function createKernel(config: unknown): PassKernel {
  const k = (config as Partial<KMeansConfig> | null)?.k;
  if (typeof k !== 'number' || !Number.isInteger(k) || k < 1)
    throw new Error('k-means kernel needs { k: integer ≥ 1 }');
  return createKMeansKernel({ k });
}
