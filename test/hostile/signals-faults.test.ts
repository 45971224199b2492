/**
 * Signals at every phase of `admove opt` (start-up, data and workers, training, a second
 * signal) and injected worker faults at the phases the runtime supports. The rule: exit
 * 130 (SIGINT) / 143 (SIGTERM), and the report, if asked for, is whole, valid and marked
 * "interrupted" — or absent when the signal came before there was anything to report; never
 * a stack trace or a `*.tmp`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { spawnAdmove } from '../cli/run-cli.ts';
import { tmpLeftBy } from './cases.ts';
import {
  admove,
  closed,
  collectStderr,
  expectNoStack,
  readValidReport,
  scratch,
  TINY,
  tiny,
  until,
} from './helpers.ts';

const { dir, file } = scratch('signals');

interface SignalRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Start `admove args`, wait until `ready(stdout)`, send `signals` 30 ms apart, wait for the end. */
async function signalWhen(
  args: string[],
  ready: (stdout: string) => boolean,
  signals: NodeJS.Signals[],
): Promise<SignalRun> {
  const child = spawnAdmove(args);
  let stdout = '';
  child.stdout?.on('data', (d) => {
    stdout += d;
  });
  const stderr = collectStderr(child);
  const end = closed(child);
  let exited = false;
  void end.then(() => {
    exited = true;
  });
  await until(() => ready(stdout) || exited, 90_000);
  expect(ready(stdout), `not ready before exit/timeout; stderr: ${stderr()}`).toBe(true);
  for (const s of signals) {
    child.kill(s);
    await new Promise((r) => setTimeout(r, 30));
  }
  const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const { code, signal } = await end;
  clearTimeout(killer);
  return { code, signal, stdout, stderr: stderr() };
}

/** The report, if written, is valid and interrupted; returns whether it was written. */
function interruptedReportIfAny(path: string): boolean {
  if (!existsSync(path)) return false;
  expect(readValidReport(path).status).toBe('interrupted');
  return true;
}

const long = (n: number) => [
  '--synthetic',
  '2000x8',
  '--workers',
  '2',
  '--iterations',
  String(n),
  '--trace',
  'none',
];

// Sequential: each run trains on real threads, and a loaded machine slows them all.
describe('signals at every phase of admove opt', { timeout: 150_000 }, () => {
  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)('%s at start-up (modules loading): exit %i at once, no report', async (sig, code) => {
    const report = join(dir, `startup-${sig}.json`);
    const r = await signalWhen(['opt', ...TINY, '--report', report], () => true, [sig]);
    // Before node has run admove.mjs's first line the kernel's default applies (death by the
    // signal); from then on admove exits with the shell's code. Either is a clean exit.
    expect(
      r.code === code || (r.code === null && r.signal === sig),
      `code ${r.code} signal ${r.signal}`,
    ).toBe(true);
    expectNoStack(r);
    expect(existsSync(report)).toBe(false);
    expect(tmpLeftBy(['--report', report])).toEqual([]);
  });

  it('SIGINT once the data is loaded, while workers start: exit 130, interrupted report with no iterations', async () => {
    const report = join(dir, 'loaded.json');
    const r = await signalWhen(
      ['opt', ...long(50), '--report', report],
      (out) => out.includes('starting workers'),
      ['SIGINT'],
    );
    expect(r.code, r.stderr).toBe(130);
    expectNoStack(r);
    expect(interruptedReportIfAny(report)).toBe(true);
    expect(JSON.parse(readFileSync(report, 'utf8')).final.iterations).toBeLessThan(50);
  });

  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)(
    '%s during training: exit %i, report interrupted, model and checkpoint whole',
    async (sig, code) => {
      const [report, model, ckpt] = ['train.json', 'train-model.json', 'train.ckpt'].map((n) =>
        join(dir, `${sig}-${n}`),
      );
      const args = ['opt', ...long(500), '--report', report, '--save-model', model, '--checkpoint', ckpt];
      const r = await signalWhen(args, (out) => /iter +2 /.test(out), [sig]);
      expect(r.code, r.stderr).toBe(code);
      expectNoStack(r);
      expect(r.stderr).toMatch(new RegExp(`^admove: ${sig}: stopping after this iteration`));
      const run = readValidReport(report);
      expect(run.status).toBe('interrupted');
      expect(JSON.parse(readFileSync(ckpt, 'utf8')).iteration).toBe(run.final.iterations);
      expect(JSON.parse(readFileSync(model, 'utf8')).format).toBe('admove-opt-model');
      expect(r.stdout).toMatch(/continue with --resume/);
      expect(tmpLeftBy(args)).toEqual([]);
    },
  );

  it('SIGINT twice during training: exits at once with 130, no half-written output', async () => {
    const report = join(dir, 'twice.json');
    const ckpt = join(dir, 'twice.ckpt');
    const args = ['opt', ...long(500), '--report', report, '--checkpoint', ckpt, '--checkpoint-every', '1'];
    const r = await signalWhen(args, (out) => /iter +2 /.test(out), ['SIGINT', 'SIGINT']);
    // Exit 130, or death by the second SIGINT when it lands after admove has let its handlers
    // go on the way out (the first one had already stopped the run): a shell reports 130 for both.
    expect(
      r.code === 130 || (r.code === null && r.signal === 'SIGINT'),
      `code ${r.code} signal ${r.signal}`,
    ).toBe(true);
    expectNoStack(r);
    interruptedReportIfAny(report);
    JSON.parse(readFileSync(ckpt, 'utf8')); // whole, whatever iteration it reached
    expect(tmpLeftBy(args)).toEqual([]);
  });
});

describe('injected worker faults at the phases the runtime supports', { timeout: 150_000 }, () => {
  it.each([
    ['throw', 'after-pass:0'],
    ['exit', 'after-pass:1'],
    ['throw', 'after-pass:2'],
  ])('worker 1 %s %s: recovered, recorded in a valid report, exit 0', async (kind, when) => {
    const report = join(dir, `fault-${kind}-${when.replace(':', '')}.json`);
    const r = await admove([
      'opt',
      ...tiny(2),
      '--quiet',
      '--inject-fault',
      `worker:1:${kind}:${when}`,
      '--report',
      report,
    ]);
    expectNoStack(r);
    expect(r.code, r.stderr).toBe(0);
    const run = readValidReport(report) as unknown as { faults: { host: string; cause: string }[] };
    expect(run.faults.map((f) => `${f.host} ${f.cause}`)).toEqual([
      `h1 ${kind === 'throw' ? 'threw' : 'exited'}`,
    ]);
  });

  it('every worker fails: one line, non-zero exit, no stack; the report says failed, why, and the faults', async () => {
    const report = join(dir, 'all-fail.json');
    const r = await admove([
      'opt',
      ...TINY,
      '--inject-fault',
      'worker:0:throw:after-pass:1',
      // h0 throws in pass 2, and the pass restarts as a fresh one (pass 3 for h1's
      // schedule). Were h1 also set for pass 2, it would fire only if it finished a chunk
      // before h0's failure stopped it: a race that a slow machine loses.
      '--inject-fault',
      'worker:1:throw:after-pass:2',
      '--report',
      report,
    ]);
    expectNoStack(r);
    // A run that cannot go on, not bad input: exit 1.
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^admove: no worker left to take \d+ exemplars after (h0, )?h1 failed/);
    // What ran, and why it stopped, are on record (the run used to leave no report at all).
    const written = readValidReport(report) as ReturnType<typeof readValidReport> & {
      failure: string;
      faults: { host: string; unrecovered?: boolean }[];
    };
    expect(written.status).toBe('failed');
    expect(`admove: ${written.failure}`).toBe(r.stderr.trim());
    // Both faults, the one the run stopped on included (a review found it missing: a fault
    // was recorded only once recovered).
    expect(written.faults.map((f) => f.host).sort()).toEqual(['h0', 'h1']);
    expect(written.faults.filter((f) => f.unrecovered).map((f) => f.host)).toContain('h1');
  });
});

describe('item 19: --wait-timeout when every host is vacated', () => {
  const vacateAll = file(
    'vacate-all.json',
    JSON.stringify({
      events: [
        { at: { iteration: 1 }, type: 'vacate', host: 'h0' },
        { at: { iteration: 1 }, type: 'vacate', host: 'h1' },
      ],
    }),
  );

  it('gives up --wait-timeout seconds after the last host left, with one line', async () => {
    const started = Date.now();
    const r = await admove(['opt', ...tiny(5).slice(0, -2), '--trace', vacateAll, '--wait-timeout', '1']);
    expectNoStack(r);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^admove: .*(vacated|wait)/);
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('SIGINT during the wait ends the run promptly: exit 130 and an interrupted report', async () => {
    const report = join(dir, 'wait-sigint.json');
    const args = [
      'opt',
      ...tiny(5).slice(0, -2),
      '--trace',
      vacateAll,
      '--wait-timeout',
      '600',
      '--report',
      report,
    ];
    const sent = Date.now();
    const r = await signalWhen(args, (out) => /iter +1 /.test(out), ['SIGINT']);
    expect(Date.now() - sent).toBeLessThan(10_000);
    expect(r.code).toBe(130);
    expectNoStack(r);
    expect(readValidReport(report).status).toBe('interrupted');
  });
});

describe('item 20: --inject-fault …:during-transfer:1 while the data is first placed', () => {
  it.each(['throw', 'exit', 'hang'])(
    '%s: one line naming the worker and the fault, non-zero exit, no hang',
    async (kind) => {
      const r = await admove(
        ['opt', ...TINY, '--inject-fault', `worker:0:${kind}:during-transfer:1`],
        30_000,
      );
      expectNoStack(r);
      expect(r.code).not.toBe(0);
      expect(r.code).not.toBeNull(); // not killed by the timeout: it did not hang
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^admove: .*worker h0 .*(threw|exited|hung)/);
    },
  );
});
