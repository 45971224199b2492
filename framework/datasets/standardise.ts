import type { ExemplarTable, Standardisation } from './types.ts';

/**
 * Per-feature mean and standard deviation of the training set (float64 sums). A constant
 * feature gets std 1, so it maps to 0 instead of dividing by zero.
 */
export function fitStandardisation(table: ExemplarTable): Standardisation {
  const { count, dim, features } = table;
  const mean = new Float64Array(dim);
  const std = new Float64Array(dim);
  for (let r = 0; r < count; r++) for (let j = 0; j < dim; j++) mean[j] += features[r * dim + j];
  for (let j = 0; j < dim; j++) mean[j] /= Math.max(1, count);
  for (let r = 0; r < count; r++) {
    for (let j = 0; j < dim; j++) {
      const d = features[r * dim + j] - mean[j];
      std[j] += d * d;
    }
  }
  for (let j = 0; j < dim; j++) {
    const s = Math.sqrt(std[j] / Math.max(1, count));
    std[j] = s > 1e-8 ? s : 1;
  }
  return { mean, std };
}

/** A new table with every feature z-scored by `s` (the input is left as it is). */
export function applyStandardisation(table: ExemplarTable, s: Standardisation): ExemplarTable {
  const { count, dim, features } = table;
  if (s.mean.length !== dim)
    throw new RangeError(`standardisation has ${s.mean.length} features, table has ${dim}`);
  const out = new Float32Array(features.length);
  for (let r = 0; r < count; r++) {
    const o = r * dim;
    for (let j = 0; j < dim; j++) out[o + j] = (features[o + j] - s.mean[j]) / s.std[j];
  }
  return { count, dim, features: out, labels: table.labels };
}
