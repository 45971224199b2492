/**
 * Regressions for issue 9 ("Numbers you can trust, and no silent loss"), items 15–18 and 21:
 * each case failed on the code before its fix.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  admove,
  admoveIntoClosedPipe,
  expectNoStack,
  expectUserError,
  goodCsv,
  readValidReport,
  scratch,
  subdir,
  TINY,
  tiny,
  tmpLeft,
} from './helpers.ts';

const { dir, file } = scratch('issue9');

describe.concurrent('item 15: the default label column is "label"/"class", else the last', () => {
  it('a text cell in a feature column is an error naming file, line and column, not a class column', async () => {
    const rows = Array.from(
      { length: 30 },
      (_, i) => `${i === 0 ? 'NA' : 20 + i},${150 + i},${60 + i},${i % 2}`,
    );
    const path = file('people.csv', `age,height,weight,y\n${rows.join('\n')}\n`);
    const r = await admove(['opt', '--data', path, '--workers', '2', '--iterations', '1', '--trace', 'none']);
    expectUserError(r, /people\.csv:2: column "age": "NA" is not a number/);
  });

  it('the same file with the cell fixed trains on "y" (2 classes)', async () => {
    const rows = Array.from({ length: 30 }, (_, i) => `${20 + i},${150 + i},${60 + i},${i % 2}`);
    const path = file('people-ok.csv', `age,height,weight,y\n${rows.join('\n')}\n`);
    const report = join(dir, 'people-ok.json');
    const r = await admove([
      'opt',
      '--data',
      path,
      '--workers',
      '2',
      '--iterations',
      '1',
      '--trace',
      'none',
      '--quiet',
      '--report',
      report,
    ]);
    expect(r.code, r.stderr).toBe(0);
    const data = readValidReport(report)['data'] as { classes: string[]; features: number };
    expect(data.classes).toEqual(['0', '1']);
    expect(data.features).toBe(3);
  });
});

describe.concurrent('item 16: outputs are never lost to a closed stdout or a shared path', () => {
  it('stdout closed early (| head -1): exit 0 and --report and --save-model both written', async () => {
    const out = subdir(dir, 'pipe');
    const report = join(out, 'run.json');
    const model = join(out, 'model.json');
    const r = await admoveIntoClosedPipe(['opt', ...TINY, '--report', report, '--save-model', model]);
    expectNoStack(r);
    expect(r.code, r.stderr).toBe(0);
    expect(readValidReport(report).status).toBe('completed');
    expect(JSON.parse(readFileSync(model, 'utf8')).format).toBe('admove-opt-model');
    expect(tmpLeft(out)).toEqual([]);
  });

  it.each([
    ['--report', '--save-model'],
    ['--checkpoint', '--report'],
    ['--save-model', '--checkpoint'],
  ])('%s and %s naming one path is a flag error before any work', async (a, b) => {
    const out = subdir(dir, `same-${a.slice(2)}-${b.slice(2)}`);
    const path = join(out, 'out.json');
    const r = await admove(['opt', ...TINY, a, path, b, `${out}/./out.json`]);
    expectUserError(r, new RegExp(`(${a} and ${b}|${b} and ${a}) name the same file`));
    expect(r.stdout).toBe('');
    expect(existsSync(path)).toBe(false);
  });
});

describe.concurrent('item 17: --resume from the checkpoint of the last iteration', () => {
  it('reports the checkpoint’s error and test accuracy, not NaN', async () => {
    // A directory of its own: item 18's cases, running at the same time, check `dir` for
    // temporary files, and this checkpoint's is there while it is being written.
    const own = subdir(dir, 'resume-last');
    const checkpoint = join(own, 'last.ckpt');
    const first = await admove(['opt', ...tiny(2), '--checkpoint', checkpoint, '--quiet']);
    expect(first.code, first.stderr).toBe(0);
    const report = join(own, 'resumed-last.json');
    const r = await admove(['opt', ...tiny(2), '--resume', checkpoint, '--report', report]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(/NaN/);
    const run = readValidReport(report);
    expect(run.final.iterations).toBe(2);
    expect(Number.isFinite(run.final.error)).toBe(true);
    expect(typeof run.final.testAccuracy).toBe('number');
  });
});

describe.concurrent('item 18: output paths are checked before any work; writes leave no *.tmp', () => {
  // Its own directory: other tests of this file write files (and their temporary files) in
  // `dir` at the same time.
  const d18 = subdir(dir, 'item18');
  const cases: [string, () => string[], RegExp][] = [
    [
      '--report in a missing directory',
      () => ['--report', join(d18, 'nope', 'r.json')],
      /--report .*nope.*(no such directory|does not exist)/,
    ],
    ['--report a directory', () => ['--report', subdir(d18, 'adir')], /--report .*adir.* is a directory/],
    [
      '--save-model a directory',
      () => ['--save-model', subdir(d18, 'mdir')],
      /--save-model .*mdir.* is a directory/,
    ],
    [
      '--checkpoint a directory',
      () => ['--checkpoint', subdir(d18, 'cdir')],
      /--checkpoint .*cdir.* is a directory/,
    ],
    [
      '--report unwritable (/sys)',
      () => ['--report', '/sys/admove-report.json'],
      /--report \/sys\/admove-report\.json: cannot write/,
    ],
    [
      '--report under a file',
      () => ['--report', join(file('plain.txt', 'x'), 'r.json')],
      /--report .*plain\.txt.* not a directory/,
    ],
  ];
  it.each(cases)('%s', async (_name, args, message) => {
    const r = await admove(['opt', ...TINY, ...args()]);
    expectUserError(r, message);
    expect(r.stdout).toBe('');
    expect(tmpLeft(d18)).toEqual([]);
  });
});

describe.concurrent('item 21: files that parse but are wrong inside are refused with file and field', () => {
  const withCheckpoint = async (name: string, edit: (c: Record<string, unknown>) => void) => {
    const path = join(dir, `${name}.ckpt`);
    if (!existsSync(join(dir, 'base.ckpt'))) {
      const r = await admove(['opt', ...tiny(2), '--checkpoint', join(dir, 'base.ckpt'), '--quiet']);
      expect(r.code, r.stderr).toBe(0);
    }
    const checkpoint = JSON.parse(readFileSync(join(dir, 'base.ckpt'), 'utf8'));
    edit(checkpoint);
    writeFileSync(path, JSON.stringify(checkpoint));
    return path;
  };

  it('a checkpoint with an unknown optimiser kind', async () => {
    const path = await withCheckpoint('badkind', (c) => {
      (c['optimiser'] as Record<string, unknown>)['kind'] = 'adam';
    });
    const r = await admove(['opt', ...tiny(3), '--resume', path]);
    expectUserError(r, /badkind\.ckpt: field "optimiser\.kind"/);
    expect(r.stdout).toBe('');
  });

  it('a checkpoint with truncated weights', async () => {
    const path = await withCheckpoint('short', (c) => {
      const o = c['optimiser'] as Record<string, number[]>;
      o['weights'] = o['weights'].slice(0, 5);
    });
    const r = await admove(['opt', ...tiny(3), '--resume', path]);
    expectUserError(r, /short\.ckpt: field "optimiser\.weights"/);
  });

  it('a model with a standard deviation of zero', async () => {
    const model = join(dir, 'm.json');
    const data = file('predict.csv', goodCsv());
    const r0 = await admove([
      'opt',
      '--data',
      data,
      '--workers',
      '2',
      '--iterations',
      '1',
      '--trace',
      'none',
      '--save-model',
      model,
      '--quiet',
    ]);
    expect(r0.code, r0.stderr).toBe(0);
    const m = JSON.parse(readFileSync(model, 'utf8'));
    m.standardisation.std[1] = 0;
    const bad = file('zero-std.json', JSON.stringify(m));
    const r = await admove(['predict', '--model', bad, '--data', data, '--label-column', 'label']);
    expectUserError(r, /zero-std\.json: field "standardisation\.std\[1\]"/);
    expect(r.stdout).toBe('');
  });

  it('a report missing "final" given to admove plot', async () => {
    const report = file(
      'nofinal.json',
      JSON.stringify({
        schemaVersion: 1,
        tool: 'admove',
        app: 'opt',
        iterations: [],
        events: [],
        redistributions: [],
        workers: [],
      }),
    );
    const r = await admove(['plot', report, '--out', subdir(dir, 'plots')]);
    expectUserError(r, /nofinal\.json: field "final"/);
  });
});
