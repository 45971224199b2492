import { closeSync, ftruncateSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type CsvOptions,
  loadCsvDataset,
  loadUnsplitCsv,
  type SplitSpec,
} from '../../framework/datasets/index.ts';
import { expectUserError, row, tempFolder } from './helpers.ts';

const folder = tempFolder('csv');
afterAll(() => folder.remove());

let fileNumber = 0;
/** Writes `text` to a fresh temp file and returns its path. */
function csv(text: string | Buffer): string {
  return folder.write(`f${fileNumber++}.csv`, text);
}

const LAST1: SplitSpec = { kind: 'last', count: 1 };

function load(text: string, options: Partial<CsvOptions> = {}) {
  return loadCsvDataset(csv(text), { split: LAST1, ...options });
}

describe('loadCsvDataset: happy paths', () => {
  it('reads a header, finds the "label" column by default, and keeps file order for a last-N split', async () => {
    const data = await load('a,b,label\n1,2,cat\n3,4.5,dog\n-5,6e1,cat\n7,.5,dog\n', {
      split: { kind: 'last', count: 2 },
    });
    expect(data.dim).toBe(2);
    expect(data.classes).toEqual(['cat', 'dog']);
    expect(data.train.count).toBe(2);
    expect(data.test.count).toBe(2);
    expect(row(data.train, 0)).toEqual([1, 2]);
    expect(row(data.train, 1)).toEqual([3, 4.5]);
    expect(row(data.test, 0)).toEqual([-5, 60]);
    expect(row(data.test, 1)).toEqual([7, 0.5]);
    expect(Array.from(data.train.labels)).toEqual([0, 1]);
    expect(Array.from(data.test.labels)).toEqual([0, 1]);
    expect(data.source).toContain('.csv');
    expect(data.train.features).toBeInstanceOf(Float32Array);
    expect(data.train.labels).toBeInstanceOf(Int32Array);
  });

  it('finds a "Class" column anywhere (case-insensitive) when no label column is given', async () => {
    const data = await load('x,Class,y\n1,b,2\n3,a,4\n5,b,6\n');
    expect(data.classes).toEqual(['a', 'b']);
    expect(data.dim).toBe(2);
    expect(row(data.train, 0)).toEqual([1, 2]);
    expect(Array.from(data.train.labels)).toEqual([1, 0]);
  });

  it('defaults to the last column when the header names no label/class column', async () => {
    const data = await load('x,y,z\n1,2,0\n3,4,1\n5,6,1\n');
    expect(data.dim).toBe(2);
    expect(data.classes).toEqual(['0', '1']);
  });

  it('a text column the header does not name as the class is a feature: one error naming file, line, column (letter)', async () => {
    const path = csv('Letter,1,2\nT,2,8\nI,5,12\nT,4,4\nD,1,0\n');
    await expectUserError(
      loadCsvDataset(path, { split: LAST1 }),
      path,
      ':2: column "Letter": "T" is not a number',
      '--label-column',
    );
    const data = await load('Letter,1,2\nT,2,8\nI,5,12\nT,4,4\nD,1,0\n', { labelColumn: 'Letter' });
    expect(data.dim).toBe(2);
    expect(data.classes).toEqual(['D', 'I', 'T']);
    expect(row(data.train, 0)).toEqual([2, 8]);
  });

  it('refuses a first line of numbers read as a header (vowel without --no-header)', async () => {
    const path = csv('0, 0, 1.5, 3\n0, 1, 2.5, 4\n1, 1, 0.5, 3\n');
    await expectUserError(loadCsvDataset(path, { split: LAST1 }), path, 'looks like data', '--no-header');
  });

  it('sorts integer labels numerically (2 before 10) and name labels by code unit', async () => {
    const ints = await load('f,label\n1,10\n2,2\n3,1\n4,2\n');
    expect(ints.classes).toEqual(['1', '2', '10']);
    expect(Array.from(ints.train.labels)).toEqual([2, 1, 0]);
    expect(Array.from(ints.test.labels)).toEqual([1]);
    const names = await load('f,label\n1,b\n2,B\n3,a\n4,b\n');
    expect(names.classes).toEqual(['B', 'a', 'b']);
  });

  it('takes the label column by name, by index, and by a string of digits', async () => {
    const text = 'id,kind,v1,v2\n1,x,0.5,1.5\n2,y,2.5,3.5\n3,x,4.5,5.5\n';
    for (const labelColumn of ['kind', 'KIND', 1, '1']) {
      const data = await load(text, { labelColumn, ignoreColumns: ['id'] });
      expect(data.classes).toEqual(['x', 'y']);
      expect(data.dim).toBe(2);
      expect(row(data.train, 1)).toEqual([2.5, 3.5]);
    }
  });

  it('a header name made of digits wins over the same index (letter-recognition names its columns 1..16)', async () => {
    const data = await load('L,0,1\n10,5,11\n20,7,21\n30,9,31\n', { labelColumn: '0' });
    // "0" is the header name of column 1, not index 0.
    expect(data.classes).toEqual(['5', '7', '9']);
    expect(row(data.train, 1)).toEqual([20, 21]);
  });

  it('reads a file without a header (--no-header): default label is the last column; columns by index', async () => {
    const text = '1,2,3,a\n4,5,6,b\n7,8,9,a\n';
    const data = await load(text, { header: false });
    expect(data.train.count + data.test.count).toBe(3);
    expect(data.dim).toBe(3);
    expect(row(data.train, 0)).toEqual([1, 2, 3]);
    const byIndex = await load('a,1,2\nb,3,4\na,5,6\n', { header: false, labelColumn: 0 });
    expect(byIndex.classes).toEqual(['a', 'b']);
    expect(row(byIndex.train, 1)).toEqual([3, 4]);
  });

  it('leaves out ignored columns given by name or by index', async () => {
    const text = 'id,a,note,b,label\n1,10,5,20,x\n2,30,6,40,y\n3,50,7,60,x\n';
    const byName = await load(text, { ignoreColumns: ['id', 'note'] });
    expect(byName.dim).toBe(2);
    expect(row(byName.train, 0)).toEqual([10, 20]);
    const byIndex = await load(text, { ignoreColumns: [0, '2'] });
    expect(row(byIndex.train, 1)).toEqual([30, 40]);
    const noHeader = await load('1,10,5,20,x\n2,30,6,40,y\n3,50,7,60,x\n', {
      header: false,
      ignoreColumns: [0, 2],
    });
    expect(row(noHeader.train, 0)).toEqual([10, 20]);
  });

  it('splits by a 0/1 column (by name or index), keeping file order, without making it a feature', async () => {
    const text = 'set,f,label\n0,1,a\n1,2,b\n0,3,b\n1,4,a\n0,5,a\n';
    for (const column of ['set', 0]) {
      const data = await load(text, { split: { kind: 'column', column } });
      expect(data.dim).toBe(1);
      expect(data.train.count).toBe(3);
      expect(data.test.count).toBe(2);
      expect(Array.from(data.train.features)).toEqual([1, 3, 5]);
      expect(Array.from(data.test.features)).toEqual([2, 4]);
      expect(Array.from(data.test.labels)).toEqual([1, 0]);
    }
  });

  it('splits a seeded random fraction: rounded counts, every row once, same seed → same split', async () => {
    const lines = ['f,label'];
    for (let i = 0; i < 100; i++) lines.push(`${i},${i % 3}`);
    const path = csv(`${lines.join('\n')}\n`);
    const split = (seed: number) =>
      loadCsvDataset(path, { split: { kind: 'fraction', fraction: 0.25, seed } });
    const a = await split(7);
    expect(a.train.count).toBe(75);
    expect(a.test.count).toBe(25);
    const all = [...a.train.features, ...a.test.features].sort((x, y) => x - y);
    expect(all).toEqual(Array.from({ length: 100 }, (_, i) => i));
    // Labels travel with their rows.
    for (const t of [a.train, a.test]) {
      t.features.forEach((f, r) => {
        expect(t.labels[r]).toBe(f % 3);
      });
    }
    const again = await split(7);
    expect(Array.from(again.test.features)).toEqual(Array.from(a.test.features));
    const other = await split(8);
    expect(Array.from(other.test.features)).not.toEqual(Array.from(a.test.features));
    // Shuffled, not file order.
    expect(Array.from(a.train.features)).not.toEqual([...a.train.features].sort((x, y) => x - y));
  });

  it('accepts CRLF endings, a BOM, blank lines, spaces around fields, quoted fields and no final newline', async () => {
    const text = '\ufeff"a" , b ,"label"\r\n\r\n 1 , "2" , "x, y"\r\n   \r\n3,4,z\r\n5,6,z';
    const data = await load(text);
    expect(data.classes).toEqual(['x, y', 'z']);
    expect(row(data.train, 0)).toEqual([1, 2]);
    expect(row(data.train, 1)).toEqual([3, 4]);
    expect(row(data.test, 0)).toEqual([5, 6]);
  });

  it('reads tab-separated files with delimiter "\\t"', async () => {
    const data = await load('a\tb\tlabel\n1\t2\tp\n3\t4\tq\n5\t6\tp\n', { delimiter: '\t' });
    expect(data.dim).toBe(2);
    expect(row(data.train, 1)).toEqual([3, 4]);
  });

  it('accepts a file exactly as large as maxBytes', async () => {
    const text = 'f,label\n1,a\n2,b\n3,a\n';
    const data = await load(text, { maxBytes: Buffer.byteLength(text) });
    expect(data.train.count).toBe(2);
  });

  it('stores features as float32 (correctly rounded decimals)', async () => {
    const data = await load('f,label\n0.1,a\n123456789.123,b\n-1e-30,a\n');
    expect(data.train.features[0]).toBe(Math.fround(0.1));
    expect(data.train.features[1]).toBe(Math.fround(123456789.123));
    expect(data.test.features[0]).toBe(Math.fround(-1e-30));
  });
});

describe('loadCsvDataset: bad input is a one-line UserError naming file, line, column and a fix', () => {
  it('refuses an empty file', async () => {
    const path = csv('');
    await expectUserError(loadCsvDataset(path, { split: LAST1 }), path, 'empty');
    const blank = csv('\n  \n\r\n');
    await expectUserError(loadCsvDataset(blank, { split: LAST1 }), blank, 'empty');
  });

  it('refuses a header with no data rows', async () => {
    const path = csv('a,b,label\n\n');
    await expectUserError(loadCsvDataset(path, { split: LAST1 }), path, 'no data rows', 'add exemplars');
  });

  it('refuses ragged rows (too few or too many fields), naming the line', async () => {
    const few = csv('a,b,label\n1,2,x\n3,y\n5,6,x\n');
    await expectUserError(
      loadCsvDataset(few, { split: LAST1 }),
      `${few}:3:`,
      'expected 3 fields, found 2',
      'delimiter',
    );
    const many = csv('a,b,label\n1,2,x\n3,4,y\n\n5,6,7,x\n');
    await expectUserError(loadCsvDataset(many, { split: LAST1 }), `${many}:5:`, 'expected 3 fields, found 4');
    // Also in the first pass of a column split.
    const split = csv('s,f,label\n0,1,x\n1,2\n');
    await expectUserError(
      loadCsvDataset(split, { split: { kind: 'column', column: 's' } }),
      `${split}:3:`,
      'expected 3 fields, found 2',
    );
  });

  it.each([
    ['NaN', 'not a finite number'],
    ['nan', 'not a finite number'],
    ['Infinity', 'not a finite number'],
    ['-inf', 'not a finite number'],
    ['abc', 'not a number'],
    ['0x10', 'not a number'],
    ['1e39', 'outside the float32 range'],
    ['', 'is empty'],
    ['"1""2"', 'not a number'],
  ])('refuses the feature value %s, naming line and column', async (value, what) => {
    const path = csv(`a,b,label\n1,2,x\n3,${value},y\n`);
    await expectUserError(
      loadCsvDataset(path, { split: LAST1 }),
      `${path}:3:`,
      'column "b"',
      what,
      '--ignore-columns',
    );
  });

  it('names the column by index when there is no header', async () => {
    const path = csv('1,2,x\n3,oops,y\n');
    await expectUserError(
      loadCsvDataset(path, { header: false, split: LAST1 }),
      `${path}:2:`,
      'column 1',
      '"oops"',
    );
  });

  it('refuses a label column that does not exist (name, index, or name without a header)', async () => {
    const path = csv('a,b,label\n1,2,x\n3,4,y\n');
    await expectUserError(
      loadCsvDataset(path, { labelColumn: 'kind', split: LAST1 }),
      `${path}:1:`,
      'no column named "kind"',
      '"a", "b", "label"',
      '--label-column',
    );
    await expectUserError(
      loadCsvDataset(path, { labelColumn: 3, split: LAST1 }),
      'index 3 is out of range',
      '3 columns (0–2)',
      '--label-column',
    );
    await expectUserError(loadCsvDataset(path, { labelColumn: '-1', split: LAST1 }), 'no column named "-1"');
    const noHeader = csv('1,2,x\n3,4,y\n');
    await expectUserError(
      loadCsvDataset(noHeader, { header: false, labelColumn: 'label', split: LAST1 }),
      noHeader,
      'no header',
      '--label-column INDEX',
    );
  });

  it('refuses unknown ignored or split columns and overlapping roles', async () => {
    const path = csv('a,b,label\n1,2,x\n3,4,y\n');
    await expectUserError(
      loadCsvDataset(path, { ignoreColumns: ['zz'], split: LAST1 }),
      'no column named "zz"',
      '--ignore-columns',
    );
    await expectUserError(
      loadCsvDataset(path, { ignoreColumns: ['label'], split: LAST1 }),
      'includes the label',
      '--ignore-columns',
    );
    await expectUserError(
      loadCsvDataset(path, { split: { kind: 'column', column: 'label' } }),
      'split column and the label column',
    );
    await expectUserError(
      loadCsvDataset(path, { split: { kind: 'column', column: 'zz' } }),
      '--split-column',
    );
    await expectUserError(
      loadCsvDataset(path, { ignoreColumns: ['a', 'b'], split: LAST1 }),
      'no feature columns',
    );
  });

  it('refuses a label column with only one class, or an empty label', async () => {
    const path = csv('a,label\n1,x\n2,x\n3,x\n');
    await expectUserError(
      loadCsvDataset(path, { split: LAST1 }),
      path,
      'only one class',
      '"x"',
      '--label-column',
    );
    const empty = csv('a,label\n1,x\n2,\n3,y\n');
    await expectUserError(
      loadCsvDataset(empty, { split: LAST1 }),
      `${empty}:3:`,
      'label column "label" is empty',
    );
  });

  it('refuses a label column that looks like a feature (too many distinct values)', async () => {
    const lines = ['a,label'];
    for (let i = 0; i < 20; i++) lines.push(`1,${i / 7}`);
    const path = csv(lines.join('\n'));
    await expectUserError(
      loadCsvDataset(path, { split: LAST1, maxClasses: 10 }),
      `${path}:12:`,
      'more than 10 distinct values',
      '--label-column',
    );
  });

  it('refuses a file larger than maxBytes before reading it, naming the size and --max-memory', async () => {
    // A sparse 3 GiB file: reading it would take a long time, refusing it takes none.
    const path = join(folder.dir, 'huge.csv');
    const fd = openSync(path, 'w');
    ftruncateSync(fd, 3 * 2 ** 30);
    closeSync(fd);
    const started = performance.now();
    await expectUserError(
      loadCsvDataset(path, { split: LAST1, maxBytes: 2 ** 20 }),
      path,
      '3.0 GB (3221225472 bytes)',
      '1.0 MB',
      '--max-memory',
    );
    expect(performance.now() - started).toBeLessThan(1000);
    const small = csv('f,label\n1,a\n2,b\n3,a\n');
    await expectUserError(loadCsvDataset(small, { split: LAST1, maxBytes: 10 }), small, '--max-memory');
  });

  it('refuses a missing file or a directory', async () => {
    const missing = join(folder.dir, 'nope.csv');
    await expectUserError(loadCsvDataset(missing, { split: LAST1 }), missing, 'no such file');
    await expectUserError(loadCsvDataset(folder.dir, { split: LAST1 }), folder.dir, 'not a regular file');
  });

  it('refuses bad split settings and splits that leave a set empty', async () => {
    const path = csv('f,label\n1,a\n2,b\n3,a\n');
    await expectUserError(
      loadCsvDataset(path, { split: { kind: 'fraction', fraction: 1, seed: 1 } }),
      'between 0 and 1',
    );
    await expectUserError(
      loadCsvDataset(path, { split: { kind: 'fraction', fraction: 0.5, seed: 1.5 } }),
      'whole number',
    );
    await expectUserError(
      loadCsvDataset(path, { split: { kind: 'fraction', fraction: 0.01, seed: 1 } }),
      path,
      '0 test rows',
    );
    await expectUserError(loadCsvDataset(path, { split: { kind: 'last', count: 0 } }), 'whole number ≥ 1');
    await expectUserError(
      loadCsvDataset(path, { split: { kind: 'last', count: 3 } }),
      path,
      'only 3 data rows',
    );
    const flags = csv('s,f,label\n0,1,a\n2,2,b\n');
    await expectUserError(
      loadCsvDataset(flags, { split: { kind: 'column', column: 's' } }),
      `${flags}:3:`,
      'column "s"',
      'split value "2" must be 0 (train) or 1 (test)',
    );
    const allTrain = csv('s,f,label\n0,1,a\n0,2,b\n');
    await expectUserError(
      loadCsvDataset(allTrain, { split: { kind: 'column', column: 's' } }),
      allTrain,
      '0 test rows',
    );
  });

  it('refuses a bad delimiter and an unclosed quote', async () => {
    const path = csv('f,label\n1,a\n2,b\n');
    await expectUserError(loadCsvDataset(path, { split: LAST1, delimiter: ';;' }), 'delimiter');
    const quote = csv('f,label\n1,"a\n2,b\n');
    await expectUserError(loadCsvDataset(quote, { split: LAST1 }), `${quote}:2:`, 'double quote');
  });
});

describe('loadUnsplitCsv', () => {
  it('reads every row in file order, with label text when there is a class column', async () => {
    const path = csv('a,b,label\n1,2,x\n3,4,y\n');
    const rows = await loadUnsplitCsv(path, { labelColumn: 'label' });
    expect(rows.count).toBe(2);
    expect(rows.dim).toBe(2);
    expect(Array.from(rows.features)).toEqual([1, 2, 3, 4]);
    expect(rows.labels).toEqual(['x', 'y']);
    const bare = await loadUnsplitCsv(csv('1,2\n3,4\n5,6\n'), { labelColumn: null, header: false });
    expect(bare.count).toBe(3);
    expect(bare.dim).toBe(2);
    expect(bare.labels).toBeNull();
  });

  it('reports bad values like loadCsvDataset', async () => {
    const path = csv('a,b\n1,2\n3,x\n');
    await expectUserError(
      loadUnsplitCsv(path, { labelColumn: null }),
      `${path}:3:`,
      'column "b"',
      'not a number',
    );
  });
});
