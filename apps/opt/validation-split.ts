import type { ExemplarTable } from '../../framework/datasets/types.ts';
import { SeededRandom } from '../../framework/util/random.ts';

/**
 * Mixed into `--seed` for the validation draw, so the rows held out do not follow the same
 * random stream as the initial weights (which are drawn from `--seed` itself).
 */
const VALIDATION_STREAM = 0x5eed_0a1d;

/** How many of `trainCount` training rows `--validation-fraction fraction` holds out. */
export function validationCount(trainCount: number, fraction: number): number {
  return Math.round(trainCount * fraction);
}

export interface ValidationSplit {
  /** The rows the workers train on, in their original order. */
  readonly train: ExemplarTable;
  /** The held-out rows the coordinator keeps and scores after every iteration. */
  readonly validation: ExemplarTable;
}

/**
 * Holds out `validationCount(train.count, fraction)` training rows, chosen by a seeded
 * permutation: the same `seed` gives the same rows on every machine, so a resumed run scores
 * the same rows. Both parts keep the original row order, so a fraction of 0 leaves the
 * training table exactly as it was (today's run) and the validation table empty.
 */
export function splitValidation(train: ExemplarTable, fraction: number, seed: number): ValidationSplit {
  if (!(fraction >= 0 && fraction < 1)) {
    throw new RangeError(`validation fraction must be in [0, 1), got ${fraction}`);
  }
  const held = validationCount(train.count, fraction);
  if (held === 0)
    return {
      train,
      validation: { ...train, count: 0, features: new Float32Array(0), labels: new Int32Array(0) },
    };
  const order = new SeededRandom((seed ^ VALIDATION_STREAM) >>> 0).permutation(train.count);
  const isHeld = new Uint8Array(train.count);
  for (let k = 0; k < held; k++) isHeld[order[k]] = 1;
  return {
    train: take(train, isHeld, 0, train.count - held),
    validation: take(train, isHeld, 1, held),
  };
}

/** The `count` rows of `table` whose flag is `flag`, in table order. */
function take(table: ExemplarTable, flags: Uint8Array, flag: number, count: number): ExemplarTable {
  const { dim } = table;
  const features = new Float32Array(count * dim);
  const labels = new Int32Array(count);
  let k = 0;
  for (let r = 0; r < table.count; r++) {
    if (flags[r] !== flag) continue;
    features.set(table.features.subarray(r * dim, (r + 1) * dim), k * dim);
    labels[k++] = table.labels[r];
  }
  return { count, dim, features, labels };
}
