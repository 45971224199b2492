import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readValidReport } from '../hostile/helpers.ts';
import { admove } from './run-cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'admove-cli-'));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const goodCsv = file(
  'good.csv',
  `a,b,label\n${Array.from({ length: 40 }, (_, i) => `${i % 7},${i % 3},${i % 2 ? 'x' : 'y'}`).join('\n')}\n`,
);

// Each row: the arguments, and what the one-line error must mention.
const cases: [string, string[], RegExp][] = [
  ['unknown command', ['train'], /unknown command "train"/],
  ['unknown flag', ['opt', '--hiden', '4'], /unknown flag --hiden/],
  ['missing value', ['opt', '--iterations'], /--iterations needs a value/],
  ['not a number', ['opt', '--iterations', 'ten'], /--iterations must be a whole number/],
  ['out of range', ['opt', '--hidden', '0'], /--hidden must be between 1/],
  ['bad choice', ['opt', '--optimizer', 'adam'], /--optimizer must be one of scg, prcg/],
  ['bad speed', ['opt', '--speeds', '1,0,2'], /--speeds: item 2/],
  [
    'speeds vs workers',
    ['opt', '--workers', '3', '--speeds', '1,2'],
    /--speeds lists 2 speeds but --workers is 3/,
  ],
  [
    'two splits',
    ['opt', '--data', goodCsv, '--test-last', '5', '--test-fraction', '0.2'],
    /both choose the test set/,
  ],
  ['csv flag without data', ['opt', '--label-column', 'label'], /--label-column applies to a CSV file/],
  ['missing data file', ['opt', '--data', join(dir, 'nope.csv')], /nope\.csv/],
  ['missing trace file', ['opt', '--trace', join(dir, 'nope.json')], /nope\.json/],
  ['trace with bad JSON', ['opt', '--trace', file('bad.json', '{ "events": [ }')], /bad\.json.*line 1/],
  [
    'trace with unknown host',
    ['opt', '--trace', file('host.json', '{"events":[{"at":{"ms":5},"type":"vacate","host":"h7"}]}')],
    /host\.json.*(h7)/,
  ],
  [
    'ragged csv',
    ['opt', '--data', file('ragged.csv', 'a,b,label\n1,2,x\n3,y\n4,5,y\n6,7,x\n8,9,y\n1,1,x\n')],
    /ragged\.csv:3: expected 3 fields, found 2/,
  ],
  ['label column missing', ['opt', '--data', goodCsv, '--label-column', 'klass'], /klass/],
  ['zero workers', ['opt', '--workers', '0'], /--workers must be between 1 and 256, got 0/],
  ['bad synthetic', ['opt', '--synthetic', '100by5'], /--synthetic must be COUNTxFEATURES/],
  [
    'bad fault spec',
    ['opt', '--inject-fault', 'worker:1:crash:after-pass:1'],
    /--inject-fault "worker:1:crash.*KIND throw\|exit\|hang/,
  ],
  [
    'fault on a missing worker',
    ['opt', '--inject-fault', 'worker:7:exit:after-pass:1'],
    /there is no worker 7 \(workers are 0–3\)/,
  ],
  [
    'checkpoint-every alone',
    ['opt', '--checkpoint-every', '3'],
    /--checkpoint-every needs --checkpoint FILE/,
  ],
  ['predict without model', ['predict', '--data', goodCsv], /--model/],
];

describe('bad input on the command line: one line, no stack, non-zero exit', () => {
  it.each(cases)('%s', async (_name, args, message) => {
    const r = await admove(args);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stderr).toMatch(/^admove: /);
  });

  it('prints --help for every command', async () => {
    for (const args of [['--help'], ['opt', '--help'], ['predict', '--help']]) {
      const r = await admove(args);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/Usage: admove/);
    }
  });

  it('prints its version, the one agents compare at the handshake', async () => {
    const { ADMOVE_VERSION } = await import('../../framework/util/version.ts');
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    expect(ADMOVE_VERSION).toBe(pkg.version);
    for (const flag of ['--version', 'version']) {
      const r = await admove([flag]);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`admove ${pkg.version}\n`);
    }
  });
});

describe('admove opt --states', () => {
  it('prints the Opt, pass and worker machines with their migration states', async () => {
    const r = await admove(['opt', '--states']);
    expect(r.code).toBe(0);
    for (const state of [
      'training',
      'migrationPending',
      'redistributing',
      'waitingForHost',
      'waitingToRecover',
      'inactive',
    ]) {
      expect(r.stdout).toContain(state);
    }
    expect(r.stdout).toMatch(
      /\* idle\n {4}\* quiet {2}\[worker\.lost → idle\.recovering; scheduler\.event if handOffPossibleBetweenPasses → idle\.handingOff; scheduler\.event if vacateDue → idle\.redistributing; .*pass → checking\]/,
    );
    expect(r.stdout).toMatch(
      / {4}checking {2}\[on entry heldPassTaken; always if eventsPending → redistributing/,
    );
    expect(r.stdout).toMatch(/computing {2}\[on entry startSlice; slice\.done if … → idle/);
  });
});

describe('admove opt when the data has nowhere to go', () => {
  it('says it is waiting for a host, then fails with one line naming --wait-timeout', async () => {
    const trace = file(
      'vacate-all.json',
      JSON.stringify({
        events: ['h0', 'h1'].map((host) => ({ at: { iteration: 2 }, type: 'vacate', host })),
      }),
    );
    const args = ['opt', '--synthetic', '400x4', '--workers', '2', '--iterations', '30', '--trace', trace];
    const gaveUp =
      'admove: no host available: every host was vacated and none came back within 1 s (--wait-timeout)';
    const r = await admove([...args, '--wait-timeout', '1']);
    expect(r.code).not.toBe(0);
    expect(
      r.stdout.match(/waiting for a host: the data has nowhere to go \(.*\) until one comes back/g),
    ).toHaveLength(1);
    expect(r.stderr.trim()).toBe(gaveUp);
    // The run that gave up still leaves its report (found by a hostile test: it left none),
    // marked failed with the reason; no model is saved as if it had ended.
    const report = join(dir, 'gave-up.json');
    const model = join(dir, 'gave-up.model.json');
    const quiet = await admove([
      ...args,
      '--wait-timeout',
      '1',
      '--quiet',
      '--report',
      report,
      '--save-model',
      model,
    ]);
    expect(quiet.code).toBe(1);
    expect(quiet.stdout).not.toContain('waiting for a host');
    expect(quiet.stdout).toContain(`report of the failed run written to ${report}`);
    expect(quiet.stderr.trim()).toBe(gaveUp);
    const run = readValidReport(report) as ReturnType<typeof readValidReport> & {
      iterations: unknown[];
      events: { outcome: string }[];
    };
    expect(run).toMatchObject({ status: 'failed', failure: gaveUp.replace(/^admove: /, '') });
    expect(run.iterations.length).toBeGreaterThanOrEqual(1);
    expect(run.events.map((e) => e.outcome)).toEqual(['applied', 'applied']);
    expect(existsSync(model)).toBe(false);
  });
});

describe('admove opt with a trace longer than the run', () => {
  it('warns, in one line, of events timed after the last iteration, and runs', async () => {
    const trace = file(
      'late.json',
      JSON.stringify({ events: [{ at: { iteration: 1000000 }, type: 'vacate', host: 'h1' }] }),
    );
    const r = await admove([
      'opt',
      '--synthetic',
      '400x4',
      '--workers',
      '2',
      '--iterations',
      '2',
      '--trace',
      trace,
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe(
      `admove: warning: ${trace}: 1 event timed after the last iteration (--iterations 2) will not fire\n`,
    );
  });
});
