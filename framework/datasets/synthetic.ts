import { SeededRandom } from '../util/random.ts';
import type { Dataset, ExemplarTable } from './types.ts';

export interface SyntheticOptions {
  readonly count: number;
  readonly dim: number;
  readonly classes: number;
  readonly seed: number;
  /** Fraction of `count` kept for testing (default 0.2; 0 for none). */
  readonly testFraction?: number;
}

/**
 * Seeded synthetic classification data, generated straight into float32 arrays (hundreds of
 * MB in seconds): each class has a random centre; an exemplar is its class centre plus
 * unit Gaussian noise, with centres spread so that the classes overlap a little.
 */
export function syntheticDataset(options: SyntheticOptions): Dataset {
  const { count, dim, classes, seed } = options;
  if (!(Number.isInteger(count) && count >= 2))
    throw new RangeError(`synthetic: count must be ≥ 2, got ${count}`);
  if (!(Number.isInteger(dim) && dim >= 1)) throw new RangeError(`synthetic: dim must be ≥ 1, got ${dim}`);
  if (!(Number.isInteger(classes) && classes >= 2))
    throw new RangeError(`synthetic: classes must be ≥ 2, got ${classes}`);
  const rng = new SeededRandom(seed);
  // Spread of the centres: enough separation in total, whatever the dimension.
  const spread = 3 / Math.sqrt(Math.min(dim, 16));
  const centres = new Float64Array(classes * dim);
  for (let i = 0; i < centres.length; i++) centres[i] = rng.normal() * spread;
  const testCount = Math.round((options.testFraction ?? 0.2) * count);
  const make = (n: number): ExemplarTable => {
    const features = new Float32Array(n * dim);
    const labels = new Int32Array(n);
    for (let r = 0; r < n; r++) {
      const c = rng.int(classes);
      labels[r] = c;
      const o = r * dim;
      const m = c * dim;
      for (let j = 0; j < dim; j++) features[o + j] = centres[m + j] + rng.normal();
    }
    return { count: n, dim, features, labels };
  };
  const train = make(count - testCount);
  const test = make(testCount);
  return {
    source: `synthetic ${count}×${dim}, ${classes} classes, seed ${seed}`,
    dim,
    classes: Array.from({ length: classes }, (_, c) => `c${c}`),
    train,
    test,
  };
}
