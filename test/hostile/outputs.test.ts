/**
 * Outputs under attack: unwritable, a directory, a device, shared with another output or
 * with an input, and stdout closed early by its reader. The rule: refused before any work,
 * or written whole — never lost, never half-written, no `*.tmp` left.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Case, runCase, sample, tmpLeftBy } from './cases.ts';
import {
  admove,
  admoveIntoClosedPipe,
  expectNoStack,
  goodCsv,
  readValidReport,
  scratch,
  subdir,
  TINY,
} from './helpers.ts';

const { dir, file } = scratch('outputs');
const csv = file('train.csv', goodCsv());
const trace = file('trace.json', '{"events":[]}');
const model = join(dir, 'model.json');
const runReport = join(dir, 'run.json');
const aFile = file('plain.txt', 'not a directory');

const opt = (name: string, extra: string[], message: RegExp | 'ok', absent: string[] = []): Case => ({
  name: `opt: ${name}`,
  args: ['opt', ...TINY, '--quiet', ...extra],
  outcome: message === 'ok' ? { ok: true } : message,
  absent,
});

const optCases: Case[] = [
  opt('--report /dev/null', ['--report', '/dev/null'], /--report \/dev\/null: is not a regular file/),
  opt(
    '--save-model in /proc',
    ['--save-model', '/proc/admove-model.json'],
    /--save-model \/proc\/admove-model\.json: cannot write in \/proc/,
  ),
  opt(
    '--checkpoint in /sys',
    ['--checkpoint', '/sys/admove.ckpt'],
    /--checkpoint \/sys\/admove\.ckpt: cannot write in \/sys/,
  ),
  opt(
    '--checkpoint under a file',
    ['--checkpoint', join(aFile, 'x.ckpt')],
    /--checkpoint .*plain\.txt.* is not a directory/,
  ),
  opt(
    '--save-model in a missing directory',
    ['--save-model', join(dir, 'gone', 'm.json')],
    /--save-model .*: the directory .*gone does not exist; create it first/,
  ),
  {
    name: 'opt: --report over the --trace file',
    args: [
      'opt',
      '--synthetic',
      '200x4',
      '--workers',
      '2',
      '--iterations',
      '1',
      '--trace',
      trace,
      '--report',
      trace,
    ],
    outcome: /--report .*trace\.json is the file given to --trace; writing it would destroy the input/,
  },
  opt(
    'all three outputs on one path',
    ['--report', join(dir, 'one'), '--save-model', join(dir, 'one'), '--checkpoint', join(dir, 'one')],
    /--report and --save-model name the same file/,
    [join(dir, 'one')],
  ),
  opt(
    '--save-model through a symlinked spelling',
    ['--report', join(dir, 'x.json'), '--save-model', join(dir, '..', dir.split('/').pop() ?? '', 'x.json')],
    /--report and --save-model name the same file/,
  ),
];

const dataOpt = (name: string, extra: string[], message: RegExp, absent: string[] = []): Case => ({
  name: `opt: ${name}`,
  args: ['opt', '--data', csv, '--workers', '2', '--iterations', '1', '--trace', 'none', '--quiet', ...extra],
  outcome: message,
  absent,
});
optCases.push(
  dataOpt(
    '--report over the --data file',
    ['--report', csv],
    /--report .*train\.csv is the file given to --data; writing it would destroy the input/,
  ),
  dataOpt(
    '--save-model over the --data file',
    ['--save-model', csv],
    /--save-model .*train\.csv is the file given to --data/,
  ),
);

const predictCases: Case[] = [
  {
    name: 'predict: --out a directory',
    args: ['predict', '--model', model, '--data', csv, '--out', subdir(dir, 'pdir')],
    outcome: /--out .*pdir: is a directory/,
  },
  {
    name: 'predict: --out over --data',
    args: ['predict', '--model', model, '--data', csv, '--out', csv],
    outcome: /--out .*train\.csv is the file given to --data/,
  },
  {
    name: 'predict: --out over --model',
    args: ['predict', '--model', model, '--data', csv, '--out', model],
    outcome: /--out .*model\.json is the file given to --model/,
  },
  {
    name: 'predict: --out in /sys',
    args: ['predict', '--model', model, '--data', csv, '--out', '/sys/p.csv'],
    outcome: /--out \/sys\/p\.csv: cannot write in \/sys/,
  },
];

const plotCases: Case[] = [
  {
    name: 'plot: --out is a file',
    args: ['plot', runReport, '--out', aFile],
    outcome: /plot: --out .*plain\.txt: cannot make the directory \(a file is in the way\)/,
  },
  {
    name: 'plot: --out in /proc',
    args: ['plot', runReport, '--out', '/proc/admove-plots'],
    outcome: /plot: --out \/proc\/admove-plots: cannot make the directory/,
  },
];

beforeAll(async () => {
  const r = await admove([
    'opt',
    '--data',
    csv,
    '--workers',
    '2',
    '--iterations',
    '1',
    '--trace',
    'none',
    '--quiet',
    '--save-model',
    model,
    '--report',
    runReport,
  ]);
  expect(r.code, r.stderr).toBe(0);
}, 60_000);

describe.concurrent('hostile outputs: refused before any work', () => {
  it.each(sample([...optCases, ...predictCases, ...plotCases], 2).map((c) => [c.name, c] as const))(
    '%s',
    async (_n, c) => {
      await runCase(c, dir);
    },
  );

  it('plot: a chart path that is a directory refuses all three charts', async () => {
    const out = subdir(dir, 'blocked');
    subdir(out, 'run-workers.svg');
    const r = await admove(['plot', runReport, '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^admove: --out .*run-workers\.svg: is a directory/);
    expect(existsSync(join(out, 'run-training.svg'))).toBe(false);
  });

  it('opt: --checkpoint into the --resume file goes on in place', async () => {
    const ckpt = join(dir, 'inplace.ckpt');
    const a = await admove(['opt', ...TINY, '--quiet', '--checkpoint', ckpt]);
    expect(a.code, a.stderr).toBe(0);
    const report = join(dir, 'inplace.json');
    const b = await admove([
      'opt',
      ...TINY.slice(0, 4),
      '--iterations',
      '2',
      '--trace',
      'none',
      '--quiet',
      '--resume',
      ckpt,
      '--checkpoint',
      ckpt,
      '--report',
      report,
    ]);
    expect(b.code, b.stderr).toBe(0);
    expect(JSON.parse(readFileSync(ckpt, 'utf8')).iteration).toBe(2);
    expect(readValidReport(report).final.iterations).toBe(2);
  });
});

describe.concurrent('stdout closed early by its reader (| head -1): every output still written', () => {
  it('opt with --report, --save-model and --checkpoint', async () => {
    const out = subdir(dir, 'pipe-opt');
    const paths = ['run.json', 'model.json', 'run.ckpt'].map((n) => join(out, n));
    const args = ['opt', ...TINY, '--report', paths[0], '--save-model', paths[1], '--checkpoint', paths[2]];
    const r = await admoveIntoClosedPipe(args);
    expectNoStack(r);
    expect(r.code, r.stderr).toBe(0);
    expect(readValidReport(paths[0]).status).toBe('completed');
    expect(JSON.parse(readFileSync(paths[1], 'utf8')).format).toBe('admove-opt-model');
    expect(JSON.parse(readFileSync(paths[2], 'utf8')).iteration).toBe(1);
    expect(tmpLeftBy(args)).toEqual([]);
  });

  it('predict printing its predictions', async () => {
    const r = await admoveIntoClosedPipe([
      'predict',
      '--model',
      model,
      '--data',
      csv,
      '--label-column',
      'label',
    ]);
    expectNoStack(r);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^accuracy \d+\.\d\d% \(\d+ of 40\)\n$/);
  });

  it('plot writing three charts', async () => {
    const out = subdir(dir, 'pipe-plot');
    const r = await admoveIntoClosedPipe(['plot', runReport, '--out', out]);
    expectNoStack(r);
    expect(r.code, r.stderr).toBe(0);
    for (const name of ['training', 'workers', 'redistributions']) {
      expect(readFileSync(join(out, `run-${name}.svg`), 'utf8')).toMatch(/<\/svg>\s*$/);
    }
  });
});
