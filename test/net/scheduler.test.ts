/** `admove scheduler` driving a running `admove opt --control` job: two real processes. */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseHostfile } from '../../apps/cli/agent-hosts.ts';
import { parseEventLine } from '../../scheduler-stub/event-line.ts';
import { admove, REPO, type WatchedRun, watchAdmove } from '../cli/run-cli.ts';
import { secretFile, startAgent } from './agent-processes.ts';

const scratchDir = mkdtempSync(join(tmpdir(), 'admove-scheduler-'));

/** `admove scheduler …` with `stdin` typed in. */
function scheduler(args: string[], stdin: string) {
  return admove(['scheduler', ...args], 60_000, stdin);
}

/** An Opt job with a control port on a free port, after its first iteration: the run and the port. */
async function jobWithControlPort(args: string[]): Promise<{ run: WatchedRun; port: string }> {
  const run = watchAdmove([
    'opt',
    '--synthetic',
    '20000x64',
    '--hidden',
    '64',
    '--trace',
    'none',
    '--control',
    '127.0.0.1:0',
    ...args,
  ]);
  expect(await run.waitFor(/iter\s+1\b/, 30_000), run.out()).toBe(true);
  const port = /control port listening on 127\.0\.0\.1:(\d+)/.exec(run.out())?.[1];
  expect(port, run.out()).toBeDefined();
  return { run, port: port as string };
}

describe('admove scheduler', () => {
  it('sends a vacate to a running job and prints the applied record; a bad line is reported alone', async () => {
    // --patience 0: the job runs all its iterations, far longer than this test, so a command
    // that the open connection kept alive would be seen to hang.
    const { run: job, port } = await jobWithControlPort([
      '--workers',
      '3',
      '--iterations',
      '5000',
      '--patience',
      '0',
    ]);
    try {
      // A line over 1 MiB ended the session with the job blamed for it (a hostile test).
      const r = await scheduler(
        ['--job', `127.0.0.1:${port}`],
        `vacate h1\nfoo h1\nvacate ${'h'.repeat(2_000_000)}\nload h2 0.5\n`,
      );
      // The good lines went; the bad one makes the exit code say so.
      expect(r.code, r.stderr).toBe(2);
      // Records print as the job answers them: two decided in the same drain come in either order.
      const lines = r.stdout.trim().split('\n').sort();
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(/^#0 vacate h1: applied at \d+ ms$/);
      expect(lines[1]).toMatch(/^#1 load h2 0\.5: applied at \d+ ms$/);
      expect(r.stderr).toBe(
        'admove scheduler: line 2: unknown event "foo"; expected "vacate HOST [deadline MS]", "available HOST", "load HOST FRACTION", "add HOST:PORT" or "end [REASON]"\n' +
          'admove scheduler: line 3: line of 2000007 characters; an event line has at most 1024\n',
      );
      // An event the job rejects is printed with its reason, and the exit code says so.
      const bad = await scheduler(['--job', `127.0.0.1:${port}`, '--json'], 'vacate h9\n');
      expect(bad.code).toBe(2);
      const record = JSON.parse(bad.stdout) as {
        event: { host: string };
        outcome: { status: string; reason: string };
      };
      expect(record.event.host).toBe('h9');
      expect(record.outcome.status).toBe('rejected');
      expect(record.outcome.reason).toMatch(/h9/);
      // The job took the vacate and goes on (its line is printed once the move is done).
      expect(await job.waitFor(/redistribution #\d+ \(evacuate\)/, 10_000), job.out()).toBe(true);
      // A bad trace file: one line, exit 2 at once (the open connection used to keep the
      // command alive until the job ended), nothing sent, and the job goes on.
      const badJson = join(scratchDir, 'bad.json');
      writeFileSync(badJson, '{"events": [\n}');
      const byIteration = join(scratchDir, 'by-iteration.json');
      writeFileSync(
        byIteration,
        JSON.stringify({ events: [{ at: { iteration: 2 }, type: 'vacate', host: 'h2' }] }),
      );
      for (const [file, why] of [
        [badJson, /bad\.json: line 2, column 1: invalid JSON/],
        [byIteration, /timed by iteration; admove scheduler sees no iterations/],
      ] as const) {
        const started = performance.now();
        const t = await admove(['scheduler', '--job', `127.0.0.1:${port}`, '--trace', file], 30_000);
        expect(t.code, t.stderr).toBe(2);
        // Not a speed check: a command kept alive by its connection would take until the job ends.
        expect(performance.now() - started).toBeLessThan(20_000);
        expect(t.stderr).toMatch(why);
        expect(t.stderr.trim().split('\n')).toHaveLength(1);
        expect(t.stdout).toBe('');
      }
      expect(job.child.exitCode).toBeNull();
    } finally {
      job.child.kill('SIGTERM');
      expect(await job.done).toBe(143);
    }
  }, 120_000);

  it('add HOST:PORT: an agent joins a running job, takes its share, and the run ends with it as a host', async () => {
    const agent = await startAgent(['--name', 'late', '--workers', '2']);
    const report = join(scratchDir, 'joined.json');
    const { run: job, port } = await jobWithControlPort([
      '--workers',
      '2',
      '--iterations',
      '40',
      '--report',
      report,
    ]);
    try {
      const r = await scheduler(
        ['--job', `127.0.0.1:${port}`],
        `add ${agent.address}\nadd ${agent.address}\nadd 127.0.0.1:1\nadd 127.0.0.1:${port}\n`,
      );
      // Two adds refused (below): the exit code says so.
      expect(r.code, r.stderr).toBe(2);
      // A scheduler connecting now is told of the joined hosts too (their names check traces).
      const { JobClient } = await import('../../scheduler-stub/job-client.ts');
      const late = await JobClient.connect({ host: '127.0.0.1', port: Number(port) });
      expect([...late.hosts].sort()).toEqual(['h0', 'h1', 'late', 'late.0', 'late.1']);
      late.close();
      expect(r.stdout).toMatch(
        /^#\d+ available late\.0: applied at \d+ ms\n#\d+ available late\.1: applied at \d+ ms\n$/,
      );
      // The same agent twice: refused by name; nobody there: refused with the reason. The job goes on.
      expect(r.stderr).toMatch(/line 2: add 127\.0\.0\.1:\d+: a host named late\.0 is already in the job/);
      expect(r.stderr).toMatch(/line 3: add 127\.0\.0\.1:1: could not connect/);
      // The job's own control port is not an agent, and says so (it said to check the secrets).
      expect(r.stderr).toMatch(
        /line 4: add 127\.0\.0\.1:\d+: agent 127\.0\.0\.1:\d+ refused: this is a job's control port \(admove opt --control\), not an agent/,
      );
      expect(await job.done, job.out()).toBe(0);
      const run = JSON.parse(readFileSync(report, 'utf8')) as {
        workers: { host: string }[];
        iterations: { exemplars: number[] }[];
        events: { seq: number; type: string; host: string }[];
        redistributions: { events: number[] }[];
      };
      expect(run.workers.map((w) => w.host)).toEqual(['h0', 'h1', 'late.0', 'late.1']);
      // The agent's two workers joined together: one redistribution applied both.
      const joined = run.events.filter((e) => e.type === 'available').map((e) => e.seq);
      expect(joined).toHaveLength(2);
      expect(run.redistributions.filter((r) => r.events.some((s) => joined.includes(s)))).toEqual([
        expect.objectContaining({ events: expect.arrayContaining(joined) }),
      ]);
      const last = run.iterations.at(-1)?.exemplars ?? [];
      expect(last).toHaveLength(4);
      expect(last[2] + last[3]).toBeGreaterThan(0);
      // 16,000 training rows, less the 10 % the coordinator holds out for validation.
      expect(last.reduce((a, b) => a + b, 0)).toBe(14400);
    } finally {
      job.child.kill('SIGKILL');
      await agent.kill('SIGKILL');
    }
  }, 180_000);

  it('end: the job stops cleanly, as on Ctrl-C (checkpoint, report marked interrupted, exit 75); a release of a host still computing is refused', async () => {
    const report = join(scratchDir, 'ended.json');
    const checkpoint = join(scratchDir, 'ended.checkpoint.json');
    const { run: job, port } = await jobWithControlPort([
      '--workers',
      '2',
      '--iterations',
      '400',
      '--report',
      report,
      '--checkpoint',
      checkpoint,
    ]);
    const { JobClient, RequestRefused } = await import('../../scheduler-stub/job-client.ts');
    const client = await JobClient.connect({ host: '127.0.0.1', port: Number(port) });
    try {
      const refused = await client.release(['h1']).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(RequestRefused);
      expect((refused as Error).message).toBe('host h1 is not vacated; vacate it first');
      expect(await client.release(['h7']).catch((e: Error) => e.message)).toBe('the job has no host h7');
    } finally {
      client.close();
    }
    const r = await scheduler(['--job', `127.0.0.1:${port}`], 'end node going down\n');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('end: the job is stopping\n');
    expect(await job.done, job.out()).toBe(75);
    expect(job.err()).toMatch(/the scheduler ended the job: node going down: stopping after this iteration/);
    const written = JSON.parse(readFileSync(report, 'utf8')) as {
      status: string;
      final: { iterations: number };
    };
    expect(written.status).toBe('interrupted');
    expect(written.final.iterations).toBeLessThan(400);
    expect(JSON.parse(readFileSync(checkpoint, 'utf8')).iteration).toBe(written.final.iterations);
  }, 120_000);

  it("to a job with a secret, without it: one line that says to give the job's --secret-file, exit 1", async () => {
    const key = secretFile('the job secret of this scheduler test');
    const { run, port } = await jobWithControlPort(['--iterations', '400', '--secret-file', key]);
    try {
      const r = await scheduler(['--job', `127.0.0.1:${port}`], 'vacate h1\n');
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(
        /^admove: the job at 127\.0\.0\.1:\d+ closed the connection [^\n]*--secret-file[^\n]*\n$/,
      );
    } finally {
      run.child.kill('SIGTERM');
      await run.done;
    }
  }, 60_000);

  it('the job going away while a request waits and stdin is still open: one line, exit 1, no stack trace', async () => {
    // An "agent" that accepts and never answers: the job's add waits on it.
    let dialled = () => {};
    const addWaits = new Promise<void>((r) => {
      dialled = r;
    });
    const silent = createServer(() => dialled());
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const { run: job, port } = await jobWithControlPort(['--iterations', '5000', '--patience', '0']);
    const cmd = spawn(
      process.execPath,
      [`${REPO}apps/cli/admove.mjs`, 'scheduler', '--job', `127.0.0.1:${port}`],
      {
        cwd: REPO,
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    cmd.stderr.on('data', (d) => {
      stderr += d;
    });
    const exited = new Promise<number | null>((r) => cmd.on('exit', (code) => r(code)));
    try {
      cmd.stdin.write(`add 127.0.0.1:${(silent.address() as AddressInfo).port}\n`);
      // The job has the request and waits on the agent (a fixed sleep lost the race with the
      // scheduler's start-up on a loaded machine: the job was gone before it connected).
      await addWaits;
      job.child.kill('SIGKILL');
      await job.done;
      const timer = setTimeout(() => cmd.kill('SIGKILL'), 20_000);
      const code = await exited;
      clearTimeout(timer);
      expect(code, stderr).toBe(1);
      expect(stderr).toMatch(/^admove: the job's control port went away: [^\n]*\n$/);
    } finally {
      cmd.kill('SIGKILL');
      job.child.kill('SIGKILL');
      silent.close();
    }
  }, 60_000);

  it('without a job to talk to: one line, exit 1', async () => {
    const r = await scheduler(['--job', '127.0.0.1:1'], 'vacate h1\n');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^admove: could not connect to 127\.0\.0\.1:1: [^\n]*admove opt running with --control\?[^\n]*\n$/,
    );
  });
});

describe('admove opt --control', () => {
  it('a run that fails ends with its one line and exit 1: the open port does not keep it alive', async () => {
    // The only worker exits after its first pass and nobody can take its exemplars.
    const args = ['--synthetic', '400x4', '--workers', '1', '--iterations', '3', '--trace', 'none'];
    const r = await admove(
      ['opt', ...args, '--inject-fault', 'worker:0:exit:after-pass:0', '--control', '127.0.0.1:0', '--quiet'],
      30_000,
    );
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/^admove: no worker left[^\n]*\n$/);
  });

  it('a bad address or a port in use is refused before any data is read', async () => {
    const bad = await admove(
      ['opt', '--data', join(scratchDir, 'missing.csv'), '--control', 'nonsense'],
      30_000,
    );
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('admove: --control: "nonsense" is not HOST:PORT (e.g. 127.0.0.1:7000)\n');
    expect(bad.stdout).not.toMatch(/data:/);
    const { run, port } = await jobWithControlPort(['--iterations', '400']);
    try {
      const taken = await admove(['opt', '--synthetic', '400x4', '--control', `127.0.0.1:${port}`], 30_000);
      expect(taken.code).toBe(2);
      expect(taken.stderr).toMatch(/^admove: [^\n]*127\.0\.0\.1:\d+[^\n]*\n$/);
      expect(taken.stdout).not.toMatch(/data:|starting workers/);
    } finally {
      run.child.kill('SIGTERM');
      await run.done;
    }
  });
});

describe('event lines', () => {
  it.each([
    ['vacate h2', { kind: 'event', event: { type: 'vacate', host: 'h2' } }],
    [
      '  vacate h2 deadline 500  # owner back',
      { kind: 'event', event: { type: 'vacate', host: 'h2', deadlineMs: 500 } },
    ],
    ['available h2', { kind: 'event', event: { type: 'available', host: 'h2' } }],
    ['load h3 0.5', { kind: 'event', event: { type: 'load', host: 'h3', fraction: 0.5 } }],
    ['add 10.0.0.7:7000', { kind: 'add', address: '10.0.0.7:7000' }],
    ['end', { kind: 'end', reason: '' }],
    ['end node n3 drained', { kind: 'end', reason: 'node n3 drained' }],
    ['# only a comment', { kind: 'blank' }],
  ])('%s', (line, parsed) => {
    expect(parseEventLine(line)).toEqual(parsed);
  });

  it.each([
    ['load h3', /fraction in \(0, 1\]/],
    ['load h3 1.5', /fraction in \(0, 1\]/],
    ['vacate h2 deadline -1', /deadline MS/],
    ['vacate h2 soon', /deadline MS/],
    ['available', /needs a host/],
    ['foo', /^unknown event "foo"/],
    ['reboot h1', /unknown event "reboot"/],
    // A long word is quoted cut short: a bad line cannot flood the terminal.
    [`${'x'.repeat(900)} h1`, /^unknown event "x{40}…"; expected/],
    [`vacate h2 deadline ${'9'.repeat(900)}x`, /got "deadline 9{31}…"$/],
    [`vacate ${'h'.repeat(2000)}`, /^line of 2007 characters; an event line has at most 1024$/],
  ])('%s is refused with a reason', (line, reason) => {
    const parsed = parseEventLine(line);
    expect(parsed.kind).toBe('error');
    if (parsed.kind === 'error') expect(parsed.reason).toMatch(reason);
  });

  it('a long comment is not a long event line', () => {
    expect(parseEventLine(`# ${'x'.repeat(5000)}`)).toEqual({ kind: 'blank' });
    expect(parseEventLine(`vacate h2 # ${'x'.repeat(5000)}`)).toEqual({
      kind: 'event',
      event: { type: 'vacate', host: 'h2' },
    });
  });
});

describe('hostfiles', () => {
  it('one HOST:PORT [speed] per line, comments and blank lines skipped', () => {
    expect(parseHostfile('# agents\n127.0.0.1:7000 2\n\n[::1]:7001\n', 'hosts.txt')).toEqual([
      { endpoint: { host: '127.0.0.1', port: 7000 }, speed: 2 },
      { endpoint: { host: '::1', port: 7001 } },
    ]);
  });

  it.each([
    ['127.0.0.1:7000 fast\n', /^hosts\.txt:1: speed "fast" must be a number > 0$/],
    ['127.0.0.1:7000 0x10\n', /^hosts\.txt:1: speed "0x10" must be a number > 0$/],
    ['127.0.0.1:7000 1e-320\n', /^hosts\.txt:1: speed "1e-320" must be between 0\.001 and 1000000 /],
    ['\n127.0.0.1\n', /^hosts\.txt:2: /],
    ['127.0.0.1:7000 1 extra\n', /^hosts\.txt:1: expected "HOST:PORT \[speed\]"/],
    ['127.0.0.1:7000\n127.0.0.1:7000\n', /listed twice/],
    ['# nothing\n', /lists no agents/],
  ])('%j is refused naming the line', (text, message) => {
    expect(() => parseHostfile(text, 'hosts.txt')).toThrow(message);
  });
});
