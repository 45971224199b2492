/**
 * `admove predict` reads a file as the model's training file was read (the model keeps its
 * CSV layout): the label column, if the file has it, and the columns that were not features.
 * Found by a hostile test: predict on the training file of `--label-column Letter` failed
 * with `column "Letter": "T" is not a number` unless the flag was given again.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../framework/util/random.ts';
import { admove } from './run-cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'admove-predict-'));

/** Rows of class A or B (the class first, as in letter), 4 features that tell them apart. */
function rows(n: number, seed: number): { cls: string; x: string[] }[] {
  const random = new SeededRandom(seed);
  return Array.from({ length: n }, (_, i) => {
    const cls = i % 2 === 0 ? 'A' : 'B';
    const shift = cls === 'A' ? 0 : 3;
    return { cls, x: Array.from({ length: 4 }, () => (shift + random.next()).toFixed(3)) };
  });
}

function write(name: string, lines: string[]): string {
  const path = join(dir, name);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

const TRAIN = ['--workers', '2', '--iterations', '15', '--hidden', '4', '--trace', 'none', '--quiet'];

/** Train on `data` with the CSV `flags`, saving the model as `name`; its path. */
async function trainModel(data: string, flags: readonly string[], name: string): Promise<string> {
  const model = join(dir, name);
  const t = await admove(['opt', '--data', data, ...flags, '--save-model', model, ...TRAIN]);
  expect(t.code, t.stderr).toBe(0);
  return model;
}

describe('admove predict reads a file as the training file was read', () => {
  it('with a header: the label column by name when the file has it, no flags needed', async () => {
    const data = rows(400, 1);
    const train = write('letters.csv', ['Letter,a,b,c,d', ...data.map((r) => [r.cls, ...r.x].join(','))]);
    const model = await trainModel(train, ['--label-column', 'Letter'], 'letters.model.json');
    expect(JSON.parse(readFileSync(model, 'utf8')).csv).toEqual({
      header: true,
      columnCount: 5,
      labelColumn: 'Letter',
      ignoreColumns: [],
    });
    const same = await admove(['predict', '--model', model, '--data', train]);
    expect(same.code, same.stderr).toBe(0);
    expect(same.stdout.trim().split('\n')).toHaveLength(400);
    expect(same.stderr).toMatch(/^accuracy \d+\.\d+% \(\d+ of 400\)\n$/);
    // Rows to classify, without the class column: predictions only.
    const bare = write('unlabelled.csv', ['a,b,c,d', ...data.slice(0, 10).map((r) => r.x.join(','))]);
    const unlabelled = await admove(['predict', '--model', model, '--data', bare]);
    expect(unlabelled.code, unlabelled.stderr).toBe(0);
    expect(unlabelled.stdout.trim().split('\n')).toEqual(
      data.slice(0, 10).map(() => expect.stringMatching(/^[AB]$/)),
    );
    expect(unlabelled.stderr).toBe('');
  });

  it('without a header: the split and ignored columns dropped, the label by index when the file is as wide', async () => {
    const data = rows(400, 2);
    // split (0 train, 1 test), an id to ignore, the 4 features, the class last (as vowel).
    const body = data.map((r, i) => [i % 5 === 0 ? 1 : 0, 1000 + i, ...r.x, r.cls].join(','));
    const train = write('vowels.csv', body);
    const model = await trainModel(
      train,
      ['--no-header', '--split-column', '0', '--ignore-columns', '1', '--label-column', '6'],
      'vowels.model.json',
    );
    expect(JSON.parse(readFileSync(model, 'utf8')).csv).toEqual({
      header: false,
      columnCount: 7,
      labelColumn: 6,
      ignoreColumns: [0, 1],
    });
    const same = await admove(['predict', '--model', model, '--data', train]);
    expect(same.code, same.stderr).toBe(0);
    expect(same.stderr).toMatch(/^accuracy \d+\.\d+% \(\d+ of 400\)\n$/);
    // The same layout without the class column: no label, the same columns dropped.
    const bare = write(
      'vowels-unlabelled.csv',
      body.slice(0, 5).map((line) => line.replace(/,[AB]$/, '')),
    );
    const unlabelled = await admove(['predict', '--model', model, '--data', bare]);
    expect(unlabelled.code, unlabelled.stderr).toBe(0);
    expect(unlabelled.stdout.trim().split('\n')).toHaveLength(5);
    expect(unlabelled.stderr).toBe('');
  });

  it('without a header, the label first and an ignored column after it: the same predictions with or without the label column', async () => {
    const data = rows(400, 3);
    // class, f1, f2, an id to ignore, f3 (a review found the id read as a feature, and f3
    // dropped, once the label column was left out).
    const body = data.map((r, i) => [r.cls, r.x[0], r.x[1], 5000 + i, r.x[2]].join(','));
    const train = write('middle.csv', body);
    const model = await trainModel(
      train,
      ['--no-header', '--label-column', '0', '--ignore-columns', '3'],
      'middle.model.json',
    );
    const labelled = await admove(['predict', '--model', model, '--data', train]);
    expect(labelled.code, labelled.stderr).toBe(0);
    const bare = write(
      'middle-unlabelled.csv',
      body.map((line) => line.replace(/^[AB],/, '')),
    );
    const unlabelled = await admove(['predict', '--model', model, '--data', bare]);
    expect(unlabelled.code, unlabelled.stderr).toBe(0);
    expect(unlabelled.stdout).toBe(labelled.stdout);
    // The same file with a line naming its columns: --header, and the training file's
    // columns apply by index as before (without the flag that line would be data).
    const named = write('middle-named.csv', ['class,f1,f2,id,f3', ...body]);
    const withHeader = await admove(['predict', '--model', model, '--data', named, '--header']);
    expect(withHeader.code, withHeader.stderr).toBe(0);
    expect(withHeader.stdout).toBe(labelled.stdout);
    expect(withHeader.stderr).toBe(labelled.stderr);
    const both = await admove(['predict', '--model', model, '--data', named, '--header', '--no-header']);
    expect(both.code).toBe(2);
    expect(both.stderr).toBe('admove: give --header or --no-header, not both\n');
    // A file of another width is not guessed at.
    const wider = write(
      'middle-wider.csv',
      body.map((line) => `${line},9`),
    );
    const refused = await admove(['predict', '--model', model, '--data', wider]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toBe(
      `admove: ${wider}: 6 columns, but the model's training file had 5 (4 without its label); give --label-column and --ignore-columns for this file\n`,
    );
  });
});
