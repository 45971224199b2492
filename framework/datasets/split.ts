import { UserError } from '../errors.ts';
import { SeededRandom } from '../util/random.ts';
import type { ColumnRef } from './csv-columns.ts';

/**
 * How a file's rows divide into training and test exemplars.
 * - `fraction`: a seeded random `fraction` of the rows (rounded) is the test set; both sets
 *   come out in that seeded shuffled order, so contiguous slices mix the classes.
 * - `last`: the last `count` rows are the test set (e.g. letter-recognition's customary 4,000);
 *   file order is kept.
 * - `column`: a column holding 0 (train) or 1 (test) on every row (e.g. vowel-context's first
 *   column); file order is kept and the column is not a feature.
 */
export type SplitSpec =
  | { readonly kind: 'fraction'; readonly fraction: number; readonly seed: number }
  | { readonly kind: 'last'; readonly count: number }
  | { readonly kind: 'column'; readonly column: ColumnRef };

/** Where each data row goes: `isTest[row]`, and its row index `slot[row]` within that set. */
export interface SplitPlan {
  readonly trainCount: number;
  readonly testCount: number;
  readonly isTest: Uint8Array;
  readonly slot: Int32Array;
}

/** Checks the split's own numbers before any file is read. */
export function checkSplitSpec(split: SplitSpec): void {
  if (split.kind === 'fraction') {
    if (!(split.fraction > 0 && split.fraction < 1)) {
      throw new UserError(
        `test fraction ${split.fraction} must be between 0 and 1 (exclusive), e.g. 0.2 for a 20% test set`,
      );
    }
    if (!Number.isInteger(split.seed)) {
      throw new UserError(`split seed ${split.seed} must be a whole number, e.g. --seed 1`);
    }
  } else if (split.kind === 'last') {
    if (!Number.isInteger(split.count) || split.count < 1) {
      throw new UserError(
        `test row count ${split.count} must be a whole number ≥ 1 (the last N rows are the test set)`,
      );
    }
  }
}

/** Plans a `fraction` or `last` split of `rowCount` rows. */
export function planSplit(path: string, split: SplitSpec, rowCount: number): SplitPlan {
  const isTest = new Uint8Array(rowCount);
  if (split.kind === 'last') {
    if (split.count >= rowCount) {
      throw new UserError(
        `${path}: the split keeps the last ${split.count} rows for testing, but the file has only ${rowCount} data rows, leaving none to train on; lower the test row count`,
      );
    }
    isTest.fill(1, rowCount - split.count);
    return planFromFlags(path, isTest, 'the last-rows split');
  }
  if (split.kind === 'fraction') {
    const testCount = Math.round(split.fraction * rowCount);
    const trainCount = rowCount - testCount;
    if (testCount === 0 || trainCount === 0) {
      throw new UserError(
        `${path}: a test fraction of ${split.fraction} of ${rowCount} data rows leaves ${trainCount} training and ${testCount} test rows; both need at least one — change the fraction or use more data`,
      );
    }
    const order = new SeededRandom(split.seed).permutation(rowCount);
    const slot = new Int32Array(rowCount);
    for (let k = 0; k < rowCount; k++) {
      const row = order[k];
      if (k < testCount) {
        isTest[row] = 1;
        slot[row] = k;
      } else {
        slot[row] = k - testCount;
      }
    }
    return { trainCount, testCount, isTest, slot };
  }
  throw new Error('column splits are planned from the column with planFromFlags');
}

/** Plans a split from per-row test flags, keeping file order within each set. */
export function planFromFlags(path: string, isTest: Uint8Array, what: string): SplitPlan {
  const slot = new Int32Array(isTest.length);
  let trainCount = 0;
  let testCount = 0;
  for (let row = 0; row < isTest.length; row++) {
    slot[row] = isTest[row] ? testCount++ : trainCount++;
  }
  if (trainCount === 0 || testCount === 0) {
    throw new UserError(
      `${path}: ${what} gives ${trainCount} training and ${testCount} test rows; both need at least one (mark training rows 0 and test rows 1)`,
    );
  }
  return { trainCount, testCount, isTest, slot };
}
