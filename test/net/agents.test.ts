/**
 * Jobs across real processes: a coordinator (admove opt --hosts) and agent processes
 * (admove agent) on loopback, through vacates, returns, killed agents, wrong keys and
 * garbage. Every connection is a real TCP (or TLS) socket between real processes.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { watchAdmove } from '../cli/run-cli.ts';
import { admove, scratch } from '../hostile/helpers.ts';
import { type AgentProcess, secretFile, startAgent, startAgents, stopAgents } from './agent-processes.ts';

const { dir, file } = scratch('agents');

interface Report {
  status: string;
  final: { error: number; testAccuracy: number; iterations: number };
  redistributions: { reason: string; exemplarsMoved: number }[];
  faults: { host: string; cause: string; exemplarsReloaded: number }[];
  events: { type: string; host: string; outcome: string }[];
}

const readReport = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as Report;

/**
 * Vacate h1 after iteration 2, bring it back after iteration 4. The job defers an
 * `available` (100 ms, or 4× the last move) before acting on it: 20 iterations leave time.
 */
const VACATE_RETURN = file(
  'vacate-return.json',
  JSON.stringify({
    events: [
      { at: { iteration: 2 }, type: 'vacate', host: 'h1' },
      { at: { iteration: 4 }, type: 'available', host: 'h1' },
    ],
  }),
);

const job = (iterations: number) => [
  'opt',
  '--synthetic',
  '3000x16',
  '--iterations',
  String(iterations),
  '--quiet',
  '--no-emulate',
];

describe('a coordinator and three agent processes', () => {
  let agents: AgentProcess[] = [];
  beforeAll(async () => {
    agents = await startAgents(3, (k) => ['--name', `h${k}`]);
  }, 60_000);
  afterAll(() => stopAgents(agents));

  it('run Opt through a vacate and a return with the same result as threads', async () => {
    const overAgents = join(dir, 'agents.json');
    const overThreads = join(dir, 'threads.json');
    const hosts = agents.map((a) => a.address).join(',');
    const a = await admove([...job(20), '--hosts', hosts, '--trace', VACATE_RETURN, '--report', overAgents]);
    expect(a.code, a.stderr).toBe(0);
    const t = await admove([...job(20), '--workers', '3', '--trace', VACATE_RETURN, '--report', overThreads]);
    expect(t.code, t.stderr).toBe(0);
    const ra = readReport(overAgents);
    const rt = readReport(overThreads);
    expect(ra.status).toBe('completed');
    expect(ra.final.iterations).toBe(20);
    expect(ra.faults).toEqual([]);
    // The vacate moved h1's exemplars off it, over the network, and the return was applied.
    const evacuations = ra.redistributions.filter((r) => r.reason === 'evacuate');
    expect(evacuations.length).toBeGreaterThanOrEqual(1);
    expect(evacuations[0].exemplarsMoved).toBeGreaterThan(0);
    expect(ra.events.map((e) => `${e.type} ${e.host} ${e.outcome}`)).toEqual([
      'vacate h1 applied',
      'available h1 applied',
    ]);
    // Moves go over peer connections dialled when the job began computing: the vacated h1
    // dialled one to each other agent then, and no more for its moves out (one or two
    // receivers, as the evacuation's plan has it).
    const linesOf = async (agent: AgentProcess) => {
      for (let i = 0; i < 40 && !/peer connections:/.test(agent.log()); i++)
        await new Promise((r) => setTimeout(r, 50));
      return /peer connections: (\d+) dialled, (\d+) moves? out found one open/.exec(agent.log());
    };
    const h1 = await linesOf(agents[1]);
    expect(h1, agents[1].log()).not.toBeNull();
    expect(Number(h1![1])).toBe(2); // one to each other agent
    expect(Number(h1![2])).toBeGreaterThanOrEqual(1);
    // Same sums over the same exemplars, whatever the partition: same training to 1e-9.
    expect(Math.abs(ra.final.error - rt.final.error) / rt.final.error).toBeLessThan(1e-9);
    expect(ra.final.testAccuracy).toBe(rt.final.testAccuracy);
    // The agents served the job and dropped its data at the end, ready for the next one.
    for (const agent of agents) expect(agent.log()).toMatch(/job \w+ ended .*exemplars are dropped/);
    // Each collected the load's garbage once its share was in, before the job's moves.
    for (const agent of agents)
      expect(agent.log()).toMatch(/job \w+: initial load in; its garbage collected in \d+ ms/);
  }, 120_000);

  it('a second job while one runs is refused by name, and served after it', async () => {
    const first = watchAdmove([...job(30), '--hosts', agents[0].address, '--trace', 'none']);
    const firstDone = first.done;
    // Wait until the first job has claimed the agent.
    for (let i = 0; i < 200 && !/serving job/.test(agents[0].log().split('ended').at(-1) ?? ''); i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const second = await admove([...job(8), '--hosts', agents[0].address, '--trace', 'none']);
    if ((await Promise.race([firstDone, Promise.resolve('running')])) === 'running') {
      expect(second.code).toBe(1);
      expect(second.stderr).toMatch(
        /^admove: agent 127\.0\.0\.1:\d+ refused: agent h0 is busy with job \w+; try again when it ends\n$/,
      );
    }
    expect(await firstDone, first.out()).toBe(0);
    const third = await admove([...job(8), '--hosts', agents[0].address, '--trace', 'none']);
    expect(third.code, third.stderr).toBe(0);
  }, 120_000);
});

describe('faults over the network', () => {
  it('SIGKILL of one of three agents mid-run: the job finishes, learns, and records the fault', async () => {
    const agents = await startAgents(3, (k) => ['--name', `a${k}`]);
    try {
      const report = join(dir, 'killed.json');
      const run = watchAdmove([...job25(agents), '--report', report]);
      expect(await run.waitFor(/iter\s+3\b/, 60_000), run.out()).toBe(true);
      await agents[1].kill('SIGKILL');
      expect(await run.done, run.err()).toBe(0);
      const r = readReport(report);
      expect(r.status).toBe('completed');
      expect(r.final.iterations).toBe(25);
      expect(r.faults).toHaveLength(1);
      expect(r.faults[0].host).toBe('a1');
      expect(r.faults[0].exemplarsReloaded).toBeGreaterThan(0);
      expect(r.final.testAccuracy).toBeGreaterThan(0.3);
    } finally {
      await stopAgents(agents);
    }
  }, 120_000);
});

describe('an agent that stops answering', () => {
  it('SIGSTOP of one of three agents mid-run: found hung by its missing heartbeat, its share reloaded', async () => {
    const agents = await startAgents(3, (k) => ['--name', `s${k}`]);
    try {
      const report = join(dir, 'stopped.json');
      const run = watchAdmove([...job25(agents), '--report', report]);
      expect(await run.waitFor(/iter\s+3\b/, 60_000), run.out()).toBe(true);
      agents[2].child.kill('SIGSTOP');
      expect(await run.done, run.out()).toBe(0);
      const r = readReport(report);
      expect(r.final.iterations).toBe(25);
      expect(r.faults.map((f) => `${f.host} ${f.cause}`)).toEqual(['s2 hung']);
      expect(r.faults[0].exemplarsReloaded).toBeGreaterThan(0);
      // Let go again, the agent says the silence was its own, not its coordinator's.
      agents[2].child.kill('SIGCONT');
      const said =
        /job \w+ ended \(this agent did not run for \d+ ms \(stopped, or starved of CPU\), past the job's liveness limit of \d+ ms: its coordinator will have given up on it\)/;
      for (let i = 0; i < 200 && !said.test(agents[2].log()); i++)
        await new Promise((r) => setTimeout(r, 50));
      expect(agents[2].log()).toMatch(said);
    } finally {
      await stopAgents(agents);
    }
  }, 120_000);

  it('with --liveness 8, an agent stopped for 4 s is waited for: no fault, the job goes on', async () => {
    // A hostile test lost agents to network outages of 2 s: TCP's resends back off past the
    // default 3 s limit. --liveness raises it, for the coordinator and the agents alike.
    const agents = await startAgents(2, (k) => ['--name', `w${k}`]);
    try {
      const report = join(dir, 'waited.json');
      const run = watchAdmove([...job25(agents), '--liveness', '8', '--report', report]);
      expect(await run.waitFor(/iter\s+3\b/, 60_000), run.out()).toBe(true);
      agents[1].child.kill('SIGSTOP');
      await new Promise((r) => setTimeout(r, 4000));
      agents[1].child.kill('SIGCONT');
      expect(await run.done, run.out()).toBe(0);
      const r = readReport(report);
      expect(r.final.iterations).toBe(25);
      expect(r.faults).toEqual([]);
      expect(agents[1].log()).not.toMatch(/did not run for/);
    } finally {
      await stopAgents(agents);
    }
  }, 120_000);
});

/** 25 iterations of a small job on `agents`, no trace. */
function job25(agents: readonly AgentProcess[]): string[] {
  return [
    'opt',
    '--synthetic',
    '3000x16',
    '--iterations',
    '25',
    '--hosts',
    agents.map((a) => a.address).join(','),
    '--trace',
    'none',
  ];
}

describe('security and bad peers', () => {
  it('an agent on a non-loopback address without a secret refuses to start, in one line', async () => {
    const r = await admove(['agent', '--listen', '0.0.0.0:0'], 30_000);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^admove: refusing to listen on 0\.0\.0\.0 without --secret-file[^\n]*\n$/);
  });

  it('an agent that could hold nothing (--max-memory 0) refuses to start, in one line', async () => {
    const r = await admove(['agent', '--listen', '127.0.0.1:0', '--max-memory', '0'], 30_000);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      'admove: --max-memory 0: this agent could hold no exemplars; give a size such as 2GB\n',
    );
  });

  it('with a secret: a wrong key is refused in one line, 1 MiB of garbage closes only its connection, the right key is served', async () => {
    const right = secretFile(randomBytes(32).toString('hex'));
    const wrong = secretFile(randomBytes(32).toString('hex'));
    const agent = await startAgent(['--secret-file', right]);
    try {
      const bad = await admove([...job(2), '--hosts', agent.address, '--secret-file', wrong]);
      expect(bad.code).not.toBe(0);
      expect(bad.stderr).toMatch(/^admove: [^\n]*TLS handshake failed \(wrong secret\?\)\n$/);
      await sendGarbage(agent.port, 1 << 20);
      const plain = await admove([...job(2), '--hosts', agent.address]);
      expect(plain.code).not.toBe(0);
      expect(plain.stderr.trim().split('\n')).toHaveLength(1);
      const good = await admove([...job(2), '--hosts', agent.address, '--secret-file', right]);
      expect(good.code, good.stderr).toBe(0);
      expect(agent.log()).toMatch(/wrong secret/);
    } finally {
      await agent.kill('SIGKILL');
    }
  }, 120_000);

  it('garbage and an oversized frame to a plain agent close that connection; the agent serves the next job', async () => {
    const agent = await startAgent();
    try {
      await sendGarbage(agent.port, 1 << 20);
      // 'J' + a length of 2 GiB: over the 1 MiB control-frame limit.
      await sendGarbage(agent.port, 0, Buffer.from([0x4a, 0x7f, 0xff, 0xff, 0xff]));
      const good = await admove([...job(2), '--hosts', agent.address]);
      expect(good.code, good.stderr).toBe(0);
    } finally {
      await agent.kill('SIGKILL');
    }
  }, 60_000);

  it('an agent ends cleanly on SIGTERM', async () => {
    const agent = await startAgent();
    const still = new Promise((r) =>
      setTimeout(() => r(`still running after 10 s; its log: ${agent.log()}`), 10_000),
    );
    expect(await Promise.race([agent.kill('SIGTERM'), still])).toBe(0);
  });
});

/** Open a raw TCP connection, write `prefix` and `n` random bytes, wait until the peer closes it. */
function sendGarbage(port: number, n: number, prefix: Buffer = Buffer.alloc(0)): Promise<void> {
  return new Promise((resolve) => {
    const socket = tcpConnect(port, '127.0.0.1', () => {
      socket.write(Buffer.concat([prefix, randomBytes(n)]));
    });
    socket.on('error', () => {});
    socket.on('close', () => resolve());
    socket.resume();
  });
}
