import { describe, expect, it } from 'vitest';
import {
  applyStandardisation,
  applyStandardisationInPlace,
  type ExemplarTable,
  fitStandardisation,
  standardisationFromJson,
  standardisationToJson,
  syntheticDataset,
} from '../../framework/datasets/index.ts';

function stats(table: ExemplarTable): { mean: number[]; std: number[] } {
  const { count, dim, features } = table;
  const mean = new Array<number>(dim).fill(0);
  const std = new Array<number>(dim).fill(0);
  for (let r = 0; r < count; r++) for (let j = 0; j < dim; j++) mean[j] += features[r * dim + j] / count;
  for (let r = 0; r < count; r++)
    for (let j = 0; j < dim; j++) std[j] += (features[r * dim + j] - mean[j]) ** 2 / count;
  return { mean, std: std.map(Math.sqrt) };
}

function table(rows: number[][]): ExemplarTable {
  const dim = rows[0].length;
  return {
    count: rows.length,
    dim,
    features: Float32Array.from(rows.flat()),
    labels: new Int32Array(rows.length),
  };
}

describe('standardisation', () => {
  it('fits mean and population std per feature; applied, the training set has mean ≈ 0, std ≈ 1', () => {
    const data = syntheticDataset({ count: 20_000, dim: 6, classes: 3, seed: 2 });
    // Shift and scale the features so the test means something.
    const f = data.train.features;
    for (let i = 0; i < f.length; i++) f[i] = f[i] * (1 + (i % 6) * 10) + 100 * (i % 6);
    const s = fitStandardisation(data.train);
    expect(s.mean).toBeInstanceOf(Float64Array);
    const raw = stats(data.train);
    for (let j = 0; j < 6; j++) {
      expect(s.mean[j]).toBeCloseTo(raw.mean[j], 6);
      expect(s.std[j]).toBeCloseTo(raw.std[j], 6);
    }
    const z = applyStandardisation(data.train, s);
    expect(z.features).not.toBe(data.train.features);
    expect(z.labels).toBe(data.train.labels);
    expect(z.count).toBe(data.train.count);
    const after = stats(z);
    for (let j = 0; j < 6; j++) {
      expect(Math.abs(after.mean[j])).toBeLessThan(1e-4);
      expect(after.std[j]).toBeCloseTo(1, 4);
    }
  });

  it('maps a constant feature to 0 (std 1) instead of dividing by zero', () => {
    const t = table([
      [5, 1],
      [5, 2],
      [5, 3],
    ]);
    const s = fitStandardisation(t);
    expect(Array.from(s.mean)).toEqual([5, 2]);
    expect(s.std[0]).toBe(1);
    expect(s.std[1]).toBeCloseTo(Math.sqrt(2 / 3), 12);
    const z = applyStandardisation(t, s);
    expect(Array.from(z.features).filter((_, i) => i % 2 === 0)).toEqual([0, 0, 0]);
    const big = fitStandardisation(table([[1e6], [1e6]]));
    expect(big.std[0]).toBe(1);
  });

  it('uses the training statistics on a test set, leaves the input alone, and has an in-place variant', () => {
    const train = table([
      [0, 10],
      [2, 30],
    ]);
    const test = table([
      [1, 20],
      [4, 50],
    ]);
    const s = fitStandardisation(train);
    const z = applyStandardisation(test, s);
    expect(Array.from(z.features)).toEqual([0, 0, 3, 3]);
    expect(Array.from(test.features)).toEqual([1, 20, 4, 50]);
    applyStandardisationInPlace(test, s);
    expect(Array.from(test.features)).toEqual([0, 0, 3, 3]);
  });

  it('round-trips through JSON as plain arrays (for a saved model)', () => {
    const s = fitStandardisation(
      table([
        [1.5, -2],
        [2.25, 7],
        [0.1, 3],
      ]),
    );
    const json = JSON.parse(JSON.stringify(standardisationToJson(s)));
    expect(Array.isArray(json.mean)).toBe(true);
    expect(Array.isArray(json.std)).toBe(true);
    const back = standardisationFromJson(json);
    expect(back.mean).toEqual(s.mean);
    expect(back.std).toEqual(s.std);
    expect(() => standardisationFromJson({ mean: [1, 2], std: [1] })).toThrow(RangeError);
  });

  it('refuses a standardisation of another width', () => {
    const s = fitStandardisation(table([[1, 2]]));
    expect(() => applyStandardisation(table([[1, 2, 3]]), s)).toThrow(/2 means/);
  });

  it('fits an empty table as mean 0, std 1', () => {
    const s = fitStandardisation({
      count: 0,
      dim: 2,
      features: new Float32Array(0),
      labels: new Int32Array(0),
    });
    expect(Array.from(s.mean)).toEqual([0, 0]);
    expect(Array.from(s.std)).toEqual([1, 1]);
  });
});
