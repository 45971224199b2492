import { SeededRandom } from '../util/random.ts';
import type { Dataset, ExemplarTable } from './types.ts';

export interface SyntheticOptions {
  /** Exemplars in all (train + test), ≥ 2. */
  readonly count: number;
  /** Features per exemplar, ≥ 1. */
  readonly dim: number;
  /** Classes, ≥ 2. */
  readonly classes: number;
  readonly seed: number;
  /** Fraction of `count` kept for testing, in [0, 1) (default 0.2; 0 for no test set). */
  readonly testFraction?: number;
}

/** Size of the table of Gaussian noise values that exemplars draw from. */
const NOISE_TABLE_SIZE = 1 << 16;

/**
 * Seeded synthetic classification data, generated straight into float32 arrays: each class has
 * a random centre (Gaussian); an exemplar is its class centre plus unit Gaussian noise on every
 * feature. The centres are spread so that classes are well separated but overlap a little
 * (a small net learns them to high accuracy, not trivially at once for few features).
 *
 * For speed (hundreds of MB in a second or two) the noise comes from a seeded table of 65,536
 * Gaussian values, indexed by 16-bit halves of one random word — two features per generator
 * step, no logarithm or cosine per feature. Labels are uniform over the classes. The same
 * options always give the same bytes; train is generated first, then test.
 */
export function syntheticDataset(options: SyntheticOptions): Dataset {
  const { count, dim, classes, seed } = options;
  const testFraction = options.testFraction ?? 0.2;
  if (!(Number.isInteger(count) && count >= 2)) {
    throw new RangeError(`synthetic: count must be a whole number ≥ 2, got ${count}`);
  }
  if (!(Number.isInteger(dim) && dim >= 1)) {
    throw new RangeError(`synthetic: dim must be a whole number ≥ 1, got ${dim}`);
  }
  if (!(Number.isInteger(classes) && classes >= 2)) {
    throw new RangeError(`synthetic: classes must be a whole number ≥ 2, got ${classes}`);
  }
  if (!(testFraction >= 0 && testFraction < 1)) {
    throw new RangeError(`synthetic: testFraction must be in [0, 1), got ${testFraction}`);
  }
  const testCount = Math.round(testFraction * count);
  if (testCount >= count) {
    throw new RangeError(`synthetic: testFraction ${testFraction} of ${count} leaves no training exemplars`);
  }
  const rng = new SeededRandom(seed);
  // Spread of the centres: enough separation in total, whatever the dimension.
  const spread = 3 / Math.sqrt(Math.min(dim, 16));
  const centres = new Float32Array(classes * dim);
  for (let i = 0; i < centres.length; i++) centres[i] = rng.normal() * spread;
  const noise = new Float32Array(NOISE_TABLE_SIZE);
  for (let i = 0; i < NOISE_TABLE_SIZE; i++) noise[i] = rng.normal();
  const words = new Mulberry32(rng.getState() ^ 0x9e3779b9);

  const make = (n: number): ExemplarTable => {
    const features = new Float32Array(n * dim);
    const labels = new Int32Array(n);
    for (let r = 0; r < n; r++) {
      const c = Math.floor((words.next() / 4294967296) * classes);
      labels[r] = c;
      const o = r * dim;
      const m = c * dim;
      let j = 0;
      for (; j + 1 < dim; j += 2) {
        const w = words.next();
        features[o + j] = centres[m + j] + noise[w & 0xffff];
        features[o + j + 1] = centres[m + j + 1] + noise[w >>> 16];
      }
      if (j < dim) features[o + j] = centres[m + j] + noise[words.next() & 0xffff];
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

/** mulberry32 returning the raw uint32 (as SeededRandom, without the division). */
class Mulberry32 {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  next(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
}
