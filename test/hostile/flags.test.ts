/**
 * Every flag of `admove opt`, `predict` and `plot` at and beyond its limits: 0, negative,
 * fractional, huge, missing value, repeated, unknown. Each row is a real child process.
 */
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { type Case, runCase, sample } from './cases.ts';
import { goodCsv, scratch, TINY, tiny } from './helpers.ts';

const { dir, file } = scratch('flags');
const csv = file('good.csv', goodCsv());
const report = (name: string) => join(dir, `${name}.json`);

/** `admove opt` on tiny synthetic data plus `extra`, which should be refused. */
const opt = (name: string, extra: string[], message: RegExp): Case => {
  const out = report(`refused-${name.replace(/\W+/g, '-')}`);
  return { name, args: ['opt', ...TINY, '--report', out, ...extra], outcome: message, absent: [out] };
};
/** `admove opt` with only `args` (no TINY, for flags TINY already gives). */
const bare = (name: string, args: string[], message: RegExp): Case => ({
  name,
  args: ['opt', ...args],
  outcome: message,
});
const ok = (name: string, extra: string[], iterations = 1): Case => {
  const out = report(`ok-${name.replace(/\W+/g, '-')}`);
  return {
    name,
    args: ['opt', ...tiny(iterations), '--quiet', '--report', out, ...extra],
    outcome: { ok: true, reports: [out] },
  };
};

const optCases: Case[] = [
  // whole-number flags
  bare(
    '--iterations -1',
    ['--synthetic', '200x4', '--iterations', '-1'],
    /--iterations must be between 0 and/,
  ),
  bare(
    '--iterations 1.5',
    ['--synthetic', '200x4', '--iterations', '1.5'],
    /--iterations must be a whole number, got "1\.5"/,
  ),
  bare(
    '--iterations 1e3',
    ['--synthetic', '200x4', '--iterations', '1e3'],
    /--iterations must be a whole number, got "1e3"/,
  ),
  bare(
    '--iterations huge',
    ['--synthetic', '200x4', '--iterations', '99999999999999999999'],
    /--iterations must be a whole number/,
  ),
  bare(
    '--iterations above max',
    ['--synthetic', '200x4', '--iterations', '1000001'],
    /--iterations must be between 0 and 1000000, got 1000001/,
  ),
  bare('--iterations missing value', ['--synthetic', '200x4', '--iterations'], /--iterations needs a value/),
  bare('--iterations empty value', ['--synthetic', '200x4', '--iterations='], /--iterations needs a value/),
  opt('--iterations repeated', ['--iterations', '2'], /--iterations is given more than once/),
  opt('--hidden 0', ['--hidden', '0'], /--hidden must be between 1 and 10000, got 0/),
  opt('--hidden -5', ['--hidden', '-5'], /--hidden must be between 1 and 10000, got -5/),
  opt('--hidden 10001', ['--hidden', '10001'], /--hidden must be between 1 and 10000, got 10001/),
  opt('--hidden word', ['--hidden', 'many'], /--hidden must be a whole number, got "many"/),
  opt('--hidden hex', ['--hidden', '0x10'], /--hidden must be a whole number, got "0x10"/),
  bare(
    '--workers 0',
    ['--synthetic', '200x4', '--workers', '0'],
    /--workers must be between 1 and 256, got 0/,
  ),
  bare(
    '--workers 257',
    ['--synthetic', '200x4', '--workers', '257'],
    /--workers must be between 1 and 256, got 257/,
  ),
  bare('--workers 2.5', ['--synthetic', '200x4', '--workers', '2.5'], /--workers must be a whole number/),
  bare(
    '--workers more than exemplars',
    ['--synthetic', '20x4', '--workers', '32', '--trace', 'none'],
    /32 workers but only 16 training exemplars/,
  ),
  opt('--seed -1', ['--seed', '-1'], /--seed must be between 0 and 2147483647, got -1/),
  opt('--seed 2^31', ['--seed', '2147483648'], /--seed must be between 0 and 2147483647/),
  opt('--seed 1.0', ['--seed', '1.0'], /--seed must be a whole number, got "1\.0"/),
  opt('--classes 1', ['--classes', '1'], /--classes must be between 2 and 1000, got 1/),
  opt('--classes 1001', ['--classes', '1001'], /--classes must be between 2 and 1000, got 1001/),
  opt(
    '--checkpoint-every 0',
    ['--checkpoint', join(dir, 'c0.ckpt'), '--checkpoint-every', '0'],
    /--checkpoint-every must be between 1/,
  ),
  opt('--checkpoint-every alone', ['--checkpoint-every', '3'], /--checkpoint-every needs --checkpoint FILE/),
  // real-number flags
  opt('--test-fraction 1', ['--test-fraction', '1'], /--test-fraction must be a number in \[0, 1\), got "1"/),
  opt('--test-fraction -0.1', ['--test-fraction', '-0.1'], /--test-fraction must be a number in \[0, 1\)/),
  opt(
    '--test-fraction NaN',
    ['--test-fraction', 'NaN'],
    /--test-fraction must be a number in \[0, 1\), got "NaN"/,
  ),
  opt(
    '--wait-timeout -1',
    ['--wait-timeout', '-1'],
    /--wait-timeout must be a number of seconds from 0 to 2147483 \(24 days\), got "-1"/,
  ),
  opt(
    '--wait-timeout Infinity',
    ['--wait-timeout', 'Infinity'],
    /--wait-timeout must be a number of seconds from 0 to 2147483 \(24 days\), got "Infinity"/,
  ),
  opt('--wait-timeout word', ['--wait-timeout', 'soon'], /--wait-timeout must be a number of seconds/),
  // Found by a hostile test: past 2^31 − 1 ms Node's timer fired at once, and the job gave up.
  opt(
    '--wait-timeout past a timer',
    ['--wait-timeout', '99999999999'],
    /--wait-timeout must be a number of seconds from 0 to 2147483 \(24 days\), got "99999999999"/,
  ),
  opt('--liveness 0', ['--liveness', '0'], /--liveness must be a number of seconds from 1 to 3600, got "0"/),
  opt(
    '--liveness a day',
    ['--liveness', '86400'],
    /--liveness must be a number of seconds from 1 to 3600, got "86400"/,
  ),
  opt('--min-gain 1', ['--min-gain', '1'], /--min-gain must be a number in \[0, 1\), got "1"/),
  opt('--min-gain -0.5', ['--min-gain', '-0.5'], /--min-gain must be a number in \[0, 1\)/),
  // choices
  opt('--optimizer adam', ['--optimizer', 'adam'], /--optimizer must be one of scg, prcg, got "adam"/),
  opt('--optimizer SCG (case)', ['--optimizer', 'SCG'], /--optimizer must be one of scg, prcg, got "SCG"/),
  opt('--loss hinge', ['--loss', 'hinge'], /--loss must be one of xent, mse, got "hinge"/),
  opt('--mode fast', ['--mode', 'fast'], /--mode must be one of adm, plain, got "fast"/),
  // lists
  bare(
    '--speeds empty item',
    ['--synthetic', '200x4', '--speeds', '1,,2'],
    /--speeds: item 2 \(""\) must be a number > 0/,
  ),
  bare(
    '--speeds negative',
    ['--synthetic', '200x4', '--speeds', '1,-1'],
    /--speeds: item 2 \("-1"\) must be a number > 0/,
  ),
  // Found by a hostile test: 1e-310 made the only worker hold no rows (a stack trace), and
  // Number() read 0x10 as 16.
  bare(
    '--speeds subnormal',
    ['--synthetic', '200x4', '--workers', '1', '--speeds', '1e-310'],
    /--speeds: item 1 \("1e-310"\) must be between 0\.001 and 1000000 \(speeds are relative/,
  ),
  bare(
    '--speeds hex',
    ['--synthetic', '200x4', '--speeds', '0x10,1'],
    /--speeds: item 1 \("0x10"\) must be a number > 0/,
  ),
  bare(
    '--speeds Infinity',
    ['--synthetic', '200x4', '--speeds', 'Infinity,1'],
    /--speeds: item 1 \("Infinity"\)/,
  ),
  bare(
    '--speeds vs --workers',
    ['--synthetic', '200x4', '--workers', '2', '--speeds', '1,2,3'],
    /--speeds lists 3 speeds but --workers is 2/,
  ),
  bare(
    '--speeds 257 items',
    ['--synthetic', '2000x4', '--speeds', Array(257).fill('1').join(',')],
    /--speeds: at most 256 workers, got 257/,
  ),
  // sizes and synthetic data
  opt('--synthetic repeated', ['--synthetic', '1x4'], /--synthetic is given more than once/),
  bare('--synthetic 1x4 alone', ['--synthetic', '1x4'], /--synthetic must be COUNTxFEATURES with COUNT ≥ 2/),
  bare('--synthetic 200x0', ['--synthetic', '200x0'], /--synthetic must be COUNTxFEATURES/),
  bare('--synthetic 200x-4', ['--synthetic', '200x-4'], /--synthetic must be COUNTxFEATURES/),
  bare(
    '--synthetic huge',
    ['--synthetic', '100000000000x100000'],
    /--synthetic 100000000000x100000 needs .* more than the memory budget of 4\.0 GB/,
  ),
  bare(
    '--synthetic over --max-memory',
    ['--synthetic', '2000x100', '--max-memory', '1KB'],
    /needs 781\.3 KB .* memory budget of 1\.0 KB/,
  ),
  bare(
    '--max-memory word',
    ['--data', csv, '--max-memory', 'lots'],
    /--max-memory must be a size such as 512MB or 2GB, got "lots"/,
  ),
  bare(
    '--max-memory 0',
    ['--data', csv, '--max-memory', '0'],
    /good\.csv: the file is .* more than the memory budget of 0 bytes/,
  ),
  bare('--max-memory negative', ['--data', csv, '--max-memory', '-1GB'], /--max-memory must be a size/),
  // data flags in the wrong company
  bare(
    '--data with --synthetic',
    ['--data', csv, '--synthetic', '200x4'],
    /--data and --synthetic cannot be used together/,
  ),
  bare(
    '--label-column without --data',
    ['--synthetic', '200x4', '--label-column', 'label'],
    /--label-column applies to a CSV file/,
  ),
  bare(
    '--classes with --data',
    ['--data', csv, '--classes', '3'],
    /--classes applies to --synthetic data only/,
  ),
  bare(
    '--test-last and --split-column',
    ['--data', csv, '--test-last', '3', '--split-column', 'a'],
    /--test-last and --split-column both choose the test set/,
  ),
  bare('--test-last 0', ['--data', csv, '--test-last', '0'], /--test-last must be between 1/),
  bare('--test-last all rows', ['--data', csv, '--test-last', '40'], /good\.csv: .*(training|train)/),
  bare(
    '--label-column out of range',
    ['--data', csv, '--label-column', '9'],
    /good\.csv:1: label column index 9 is out of range: the file has 4 columns/,
  ),
  bare(
    '--ignore-columns the label',
    ['--data', csv, '--ignore-columns', 'label'],
    /--ignore-columns includes the label column "label"/,
  ),
  bare(
    '--ignore-columns every feature',
    ['--data', csv, '--ignore-columns', 'a,b,c'],
    /no feature columns are left/,
  ),
  // faults
  opt(
    '--inject-fault bad kind',
    ['--inject-fault', 'worker:0:explode:after-pass:1'],
    /--inject-fault "worker:0:explode:after-pass:1": expected worker:N:KIND:WHEN/,
  ),
  opt(
    '--inject-fault negative worker',
    ['--inject-fault', 'worker:-1:throw:after-pass:1'],
    /--inject-fault "worker:-1:throw:after-pass:1"/,
  ),
  opt(
    '--inject-fault no such worker',
    ['--inject-fault', 'worker:2:throw:after-pass:1'],
    /there is no worker 2 \(workers are 0–1\)/,
  ),
  opt(
    '--inject-fault during-transfer:0',
    ['--inject-fault', 'worker:0:throw:during-transfer:0'],
    /during-transfer:K counts moves from 1/,
  ),
  opt(
    '--inject-fault twice on one worker',
    ['--inject-fault', 'worker:0:throw:after-pass:1', '--inject-fault', 'worker:0:exit:after-pass:2'],
    /worker 0 already has a fault; one per worker/,
  ),
  opt(
    '--inject-fault with --mode plain',
    ['--mode', 'plain', '--inject-fault', 'worker:0:throw:after-pass:1'],
    /--inject-fault needs --mode adm/,
  ),
  // the command line itself
  opt('unknown flag', ['--hiden', '4'], /unknown flag --hiden/),
  opt('unknown short flag', ['-q'], /unknown flag -q/),
  opt('boolean flag with a value', ['--quiet=yes'], /--quiet takes no value/),
  opt('stray positional', ['extra'], /unexpected argument "extra"/),
  bare('--trace without value', ['--synthetic', '200x4', '--trace'], /--trace needs a value/),
  bare('--resume without value', ['--synthetic', '200x4', '--resume'], /--resume needs a value/),
  // limits that are allowed: the run completes and its report is valid
  ok('--iterations 0', [], 0),
  ok('--test-fraction 0 (no test set)', ['--test-fraction', '0']),
  ok('--wait-timeout 0', ['--wait-timeout', '0']),
  ok('--min-gain 0', ['--min-gain', '0']),
  ok('--hidden 1', ['--hidden', '1']),
  ok('--seed 2147483647', ['--seed', '2147483647']),
];

/** --validation-fraction and --patience at and beyond their limits (all run: they are new). */
const validationCases: Case[] = [
  opt(
    '--validation-fraction 0.51',
    ['--validation-fraction', '0.51'],
    /--validation-fraction must be a number in \[0, 0\.5\], got "0\.51"/,
  ),
  opt(
    '--validation-fraction -0.1',
    ['--validation-fraction', '-0.1'],
    /--validation-fraction must be a number in \[0, 0\.5\], got "-0\.1"/,
  ),
  opt(
    '--validation-fraction NaN',
    ['--validation-fraction', 'NaN'],
    /--validation-fraction must be a number in \[0, 0\.5\], got "NaN"/,
  ),
  opt(
    '--validation-fraction word',
    ['--validation-fraction', 'some'],
    /--validation-fraction must be a number in \[0, 0\.5\], got "some"/,
  ),
  opt('--validation-fraction empty', ['--validation-fraction='], /--validation-fraction needs a value/),
  opt(
    '--validation-fraction repeated',
    ['--validation-fraction', '0.1', '--validation-fraction', '0.2'],
    /--validation-fraction is given more than once/,
  ),
  opt(
    '--validation-fraction holding out no row',
    ['--validation-fraction', '0.001'],
    /--validation-fraction 0\.001 of 160 training exemplars holds out none/,
  ),
  bare(
    '--validation-fraction leaving fewer rows than workers',
    ['--synthetic', '20x4', '--workers', '10', '--validation-fraction', '0.5', '--trace', 'none'],
    /10 workers but only 8 training exemplars \(16 less 8 held out by --validation-fraction\)/,
  ),
  opt('--patience -1', ['--patience', '-1'], /--patience must be between 0 and 1000000, got -1/),
  opt('--patience 1.5', ['--patience', '1.5'], /--patience must be a whole number, got "1\.5"/),
  opt(
    '--patience 1000001',
    ['--patience', '1000001'],
    /--patience must be between 0 and 1000000, got 1000001/,
  ),
  opt('--patience word', ['--patience', 'long'], /--patience must be a whole number, got "long"/),
  opt('--patience missing value', ['--patience'], /--patience needs a value/),
  opt(
    '--patience without validation rows',
    ['--validation-fraction', '0', '--patience', '3'],
    /--patience needs validation rows to watch; give --validation-fraction F > 0 with it/,
  ),
  ok('--validation-fraction 0 (no split)', ['--validation-fraction', '0']),
  ok('--validation-fraction 0.5', ['--validation-fraction', '0.5']),
  ok('--patience 0', ['--patience', '0'], 2),
  ok('--patience 1000000', ['--patience', '1000000'], 2),
];

const predictCases: Case[] = [
  { name: 'predict: no flags', args: ['predict'], outcome: /admove predict needs --model FILE/ },
  {
    name: 'predict: --model without --data',
    args: ['predict', '--model', csv],
    outcome: /admove predict needs --data FILE\.csv/,
  },
  {
    name: 'predict: unknown flag',
    args: ['predict', '--modle', 'x'],
    outcome: /^admove: unknown flag --modle; see admove predict --help\n?$/,
  },
  {
    name: 'predict: repeated --data',
    args: ['predict', '--data', csv, '--data', csv],
    outcome: /--data is given more than once/,
  },
  {
    name: 'predict: --max-memory word',
    args: ['predict', '--model', csv, '--data', csv, '--max-memory', 'x'],
    outcome: /--max-memory must be a size such as 512MB or 2GB, got "x"/,
  },
];

const plotCases: Case[] = [
  { name: 'plot: no file', args: ['plot'], outcome: /plot: give the report file/ },
  { name: 'plot: two files', args: ['plot', csv, csv], outcome: /plot: one report at a time/ },
  { name: 'plot: unknown flag', args: ['plot', '--bogus'], outcome: /plot: Unknown option '--bogus'/ },
  {
    name: 'plot: --out without value',
    args: ['plot', csv, '--out'],
    outcome: /plot: Option '-o, --out <value>' argument missing/,
  },
  { name: 'plot: --out empty', args: ['plot', csv, '--out='], outcome: /plot: --out needs a directory/ },
  { name: 'unknown command', args: ['train'], outcome: /unknown command "train"/ },
];

describe.concurrent('hostile flags: admove opt', () => {
  it.each(sample(optCases, 3).map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    await runCase(c, dir);
  });
});

describe.concurrent('hostile flags: --validation-fraction and --patience', () => {
  it.each(validationCases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    await runCase(c, dir);
  });
});

describe.concurrent('hostile flags: admove predict and plot', () => {
  it.each(sample([...predictCases, ...plotCases], 2).map((c) => [c.name, c] as const))(
    '%s',
    async (_name, c) => {
      await runCase(c, dir);
    },
  );
});
