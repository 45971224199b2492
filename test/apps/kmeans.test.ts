import { describe, expect, it } from 'vitest';
import { createKMeansKernel, KMEANS_KERNEL, runKMeans } from '../../apps/kmeans/index.ts';
import { columnsFromTable, SeededRandom, startJob } from '../../framework/index.ts';

/** Three well-separated Gaussian blobs in 4-D. */
function blobs(count: number, seed: number) {
  const rng = new SeededRandom(seed);
  const dim = 4;
  const centres = [
    [0, 0, 0, 0],
    [10, 10, 0, 0],
    [0, 10, 10, 10],
  ];
  const features = new Float32Array(count * dim);
  const labels = new Int32Array(count);
  for (let r = 0; r < count; r++) {
    const c = rng.int(3);
    labels[r] = c;
    for (let j = 0; j < dim; j++) features[r * dim + j] = centres[c][j] + rng.normal();
  }
  return { features, labels, dim };
}

/** The same Lloyd iterations in one thread, as the reference. */
function referenceKMeans(
  features: Float32Array,
  dim: number,
  start: Float64Array,
  k: number,
  iterations: number,
) {
  const kernel = createKMeansKernel({ k });
  const cols = columnsFromTable(features, new Int32Array(features.length / dim), dim);
  let c = Float64Array.from(start);
  for (let it = 0; it < iterations; it++) {
    const acc = new Float64Array(kernel.accumulatorLength(c, dim));
    kernel.accumulate(cols, 0, cols.count, c, acc);
    const next = Float64Array.from(c);
    for (let m = 0; m < k; m++) {
      const n = acc[1 + m];
      if (n > 0) for (let j = 0; j < dim; j++) next[m * dim + j] = acc[1 + k + m * dim + j] / n;
    }
    c = next;
  }
  return c;
}

describe('k-means, the second app', () => {
  it('finds the blobs on adaptive workers while a host is vacated, and matches a one-thread run', async () => {
    const { features, labels, dim } = blobs(30_000, 5);
    const k = 3;
    // Start from three exemplars, one from each blob, so the answer is known.
    const first = [0, 1, 2].map((c) => labels.indexOf(c));
    const start = Float64Array.from(first.flatMap((r) => [...features.subarray(r * dim, (r + 1) * dim)]));
    const t0 = performance.now();
    const job = await startJob('adm', {
      kernelModule: KMEANS_KERNEL,
      kernelConfig: { k },
      train: columnsFromTable(features, labels, dim),
      hosts: [1, 2, 4].map((speed, i) => ({ name: `h${i}`, speed })),
      emulateSpeeds: true,
      calibrationParams: start,
      clock: () => performance.now() - t0,
    });
    try {
      setTimeout(() => job.send({ type: 'vacate', host: 'h2' }), 1);
      const out = await runKMeans(job, { centroids: start, k, dim, maxIterations: 8, tolerance: 0 });
      expect(out.iterations).toBeGreaterThan(1);
      expect(job.counts()[2]).toBe(0);
      expect(job.redistributions().length).toBeGreaterThan(0);
      const reference = referenceKMeans(features, dim, start, k, out.iterations);
      for (let i = 0; i < reference.length; i++) expect(out.centroids[i]).toBeCloseTo(reference[i], 9);
      // And the centroids are the blob centres (to within the noise).
      expect(out.centroids[k * 0 + 0]).toBeCloseTo(0, 0);
      expect(out.centroids[dim + 0]).toBeCloseTo(10, 0);
    } finally {
      await job.close();
    }
  });
});
