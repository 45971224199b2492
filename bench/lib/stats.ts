/** Robust summaries of repeated measurements: medians and ranges, never means of noisy timings. */

import { SeededRandom } from '../../framework/util/random.ts';

export interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly n: number;
}

export function median(values: readonly number[]): number {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length === 0) return Number.NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

export function spread(values: readonly number[]): Spread {
  const v = values.filter(Number.isFinite);
  return {
    median: median(v),
    min: v.length ? Math.min(...v) : Number.NaN,
    max: v.length ? Math.max(...v) : Number.NaN,
    n: v.length,
  };
}

/** `a / b`, or null when either is missing or b is 0 (JSON has no NaN). */
export function ratio(a: number | null | undefined, b: number | null | undefined): number | null {
  if (a === null || a === undefined || b === null || b === undefined) return null;
  if (!Number.isFinite(a) || !Number.isFinite(b) || b === 0) return null;
  return a / b;
}

/** Round for JSON and tables: `digits` significant figures. */
export function sig(v: number | null, digits = 4): number | null {
  if (v === null || !Number.isFinite(v)) return null;
  return Number(v.toPrecision(digits));
}

/**
 * A bootstrap interval for the median of `values`: the middle `level` of the medians of
 * `resamples` resamples drawn with replacement (seeded, so a run's JSON is reproducible).
 * How far a median of few noisy pairs may be from the machine's true figure.
 */
export function medianInterval(values: readonly number[], level = 0.9, resamples = 2000): [number, number] {
  const v = values.filter(Number.isFinite);
  if (v.length === 0) return [Number.NaN, Number.NaN];
  const rng = new SeededRandom(1);
  const medians: number[] = [];
  const sample = new Array<number>(v.length);
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < v.length; i++) sample[i] = v[rng.int(v.length)];
    medians.push(median(sample));
  }
  medians.sort((a, b) => a - b);
  const tail = (1 - level) / 2;
  return [medians[Math.floor(tail * (resamples - 1))], medians[Math.ceil((1 - tail) * (resamples - 1))]];
}
