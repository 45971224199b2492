import type { ExemplarTable, Standardisation } from './types.ts';

/** A standardisation as plain number arrays, for JSON (e.g. inside a saved model). */
export interface StandardisationJson {
  readonly mean: number[];
  readonly std: number[];
}

/**
 * Per-feature mean and (population) standard deviation of the training set, summed in float64
 * in two passes. A constant feature (std ≤ 1e-8 of its scale) gets std 1, so it maps to 0 instead
 * of dividing by zero; an empty table gives mean 0, std 1.
 */
export function fitStandardisation(table: ExemplarTable): Standardisation {
  const { count, dim, features } = table;
  const mean = new Float64Array(dim);
  const std = new Float64Array(dim);
  for (let r = 0, o = 0; r < count; r++, o += dim) {
    for (let j = 0; j < dim; j++) mean[j] += features[o + j];
  }
  for (let j = 0; j < dim; j++) mean[j] /= Math.max(1, count);
  for (let r = 0, o = 0; r < count; r++, o += dim) {
    for (let j = 0; j < dim; j++) {
      const d = features[o + j] - mean[j];
      std[j] += d * d;
    }
  }
  for (let j = 0; j < dim; j++) {
    const s = Math.sqrt(std[j] / Math.max(1, count));
    std[j] = s > 1e-8 * Math.max(1, Math.abs(mean[j])) ? s : 1;
  }
  return { mean, std };
}

/** A new table with every feature z-scored by `s`; the input table is left as it is. */
export function applyStandardisation(table: ExemplarTable, s: Standardisation): ExemplarTable {
  const features = new Float32Array(table.features.length);
  standardiseInto(table, s, features);
  return { count: table.count, dim: table.dim, features, labels: table.labels };
}

/** Z-scores the table's own features in place (no copy, for tables of hundreds of MB). */
export function applyStandardisationInPlace(table: ExemplarTable, s: Standardisation): void {
  standardiseInto(table, s, table.features);
}

/** Plain arrays for JSON.stringify (a Float64Array would serialise as an object of indices). */
export function standardisationToJson(s: Standardisation): StandardisationJson {
  return { mean: Array.from(s.mean), std: Array.from(s.std) };
}

/** Back from `standardisationToJson` output (or any `{ mean, std }` of equal-length number arrays). */
export function standardisationFromJson(json: {
  readonly mean: readonly number[];
  readonly std: readonly number[];
}): Standardisation {
  if (json.mean.length !== json.std.length) {
    throw new RangeError(
      `standardisation: mean has ${json.mean.length} values but std has ${json.std.length}`,
    );
  }
  return { mean: Float64Array.from(json.mean), std: Float64Array.from(json.std) };
}

function standardiseInto(table: ExemplarTable, s: Standardisation, out: Float32Array): void {
  const { count, dim, features } = table;
  if (s.mean.length !== dim || s.std.length !== dim) {
    throw new RangeError(
      `standardisation has ${s.mean.length} means and ${s.std.length} deviations, but the table has ${dim} features`,
    );
  }
  const { mean, std } = s;
  // Divides (rather than multiplying by 1/std) so the result matches `(x - mean) / std` exactly,
  // as a saved model's predictor computes it.
  for (let r = 0, o = 0; r < count; r++, o += dim) {
    for (let j = 0; j < dim; j++) out[o + j] = (features[o + j] - mean[j]) / std[j];
  }
}
