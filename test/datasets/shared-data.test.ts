import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCsvDataset } from '../../framework/datasets/index.ts';
import { classCounts, row, sameBytes, sharedDataDir } from './helpers.ts';

const letterPath = join(sharedDataDir, 'letter-recognition.csv');
const vowelPath = join(sharedDataDir, 'vowel-context.csv');
const missing = !existsSync(letterPath) || !existsSync(vowelPath);
if (missing) console.warn(`skipping the real data set tests: ${sharedDataDir} has no letter/vowel files`);

describe.skipIf(missing)('the shared UCI data sets (../shared/data)', () => {
  it('letter-recognition: label column "Letter", last 4,000 rows test → 16,000/4,000 × 16, 26 classes A–Z', async () => {
    const data = await loadCsvDataset(letterPath, {
      labelColumn: 'Letter',
      split: { kind: 'last', count: 4000 },
    });
    expect(data.dim).toBe(16);
    expect(data.classes).toEqual([...'ABCDEFGHIJKLMNOPQRSTUVWXYZ']);
    expect(data.train.count).toBe(16_000);
    expect(data.test.count).toBe(4_000);
    expect(data.train.features.length).toBe(16_000 * 16);
    // First row: T,2,8,3,5,1,8,13,0,6,6,10,8,0,8,0,8
    expect(data.classes[data.train.labels[0]]).toBe('T');
    expect(row(data.train, 0)).toEqual([2, 8, 3, 5, 1, 8, 13, 0, 6, 6, 10, 8, 0, 8, 0, 8]);
    expect(classCounts(data.train, 26).every((n) => n > 500)).toBe(true);
    expect(classCounts(data.test, 26).every((n) => n > 100)).toBe(true);
    expect(data.train.features.reduce((m, v) => Math.min(m, v), Infinity)).toBe(0);
    expect(data.train.features.reduce((m, v) => Math.max(m, v), -Infinity)).toBe(15);
  });

  it('letter-recognition by index: labelColumn 0 gives the same set', async () => {
    const byName = await loadCsvDataset(letterPath, {
      labelColumn: 'Letter',
      split: { kind: 'last', count: 4000 },
    });
    const byIndex = await loadCsvDataset(letterPath, {
      labelColumn: 0,
      split: { kind: 'last', count: 4000 },
    });
    expect(sameBytes(byIndex.train.labels, byName.train.labels)).toBe(true);
    expect(sameBytes(byIndex.test.features, byName.test.features)).toBe(true);
  });

  it('vowel-context: no header, split by column 0, speaker and sex ignored → 528/462 × 10, 11 classes of 48/42', async () => {
    const data = await loadCsvDataset(vowelPath, {
      header: false,
      split: { kind: 'column', column: 0 },
      ignoreColumns: [1, 2],
    });
    expect(data.dim).toBe(10);
    expect(data.classes).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '10']);
    expect(data.train.count).toBe(528);
    expect(data.test.count).toBe(462);
    expect(classCounts(data.train, 11)).toEqual(new Array(11).fill(48));
    expect(classCounts(data.test, 11)).toEqual(new Array(11).fill(42));
    // First row: 0, 0, 0, -3.639, 0.418, ... , -0.814, 0
    expect(row(data.train, 0)[0]).toBe(Math.fround(-3.639));
    expect(row(data.train, 0)[9]).toBe(Math.fround(-0.814));
    expect(data.train.labels[0]).toBe(0);
  });

  it('vowel-context keeping speaker and sex as features gives 12 features', async () => {
    const data = await loadCsvDataset(vowelPath, { header: false, split: { kind: 'column', column: 0 } });
    expect(data.dim).toBe(12);
    expect(data.train.count).toBe(528);
    expect(data.test.count).toBe(462);
  });
});
