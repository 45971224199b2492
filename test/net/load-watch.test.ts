/**
 * `admove agent --load-watch` on a real machine: an agent pinned to core 0 watches its
 * core, a plain agent runs on core 1, and a CPU hog pinned to core 0 starts while
 * `admove opt` runs on both. The watcher must turn the hog into a `load` event in the
 * report, and the watched agent must hold less of the data than before. Real processes, real
 * /proc, real taskset; the machine is shared, so only the event and the direction of the
 * share are asserted, not exact figures.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allowedCores } from '../../framework/agent/cpu-share.ts';
import { watchAdmove } from '../cli/run-cli.ts';
import { readValidReport, scratch } from '../hostile/helpers.ts';
import { type AgentProcess, startAgent, stopAgents } from './agent-processes.ts';

interface Report {
  iterations: { iteration: number; seconds: number; exemplars: number[] }[];
  events: { seq: number; type: string; host: string; fraction?: number; outcome: string }[];
  loadReadings: {
    agent: string;
    receivedAt: number;
    othersShare: number;
    fraction: number;
    cores: number[];
    pressure: { someAvg10: number; source: string } | null;
    events: { host: string; seq: number }[];
  }[];
  redistributions: { index: number; events: number[]; triggeredAt: number; countsAfter: number[] }[];
  workers: { host: string; exemplars: number }[];
  data: { train: number };
}

/** Why this machine cannot run the test (one line), or null. */
function cannotRun(): string | null {
  if (process.platform !== 'linux') return 'needs Linux /proc';
  if (spawnSync('taskset', ['-c', '0', 'true']).status !== 0) return 'needs taskset (util-linux)';
  const cores = allowedCores(readFileSync('/proc/self/status', 'utf8')) ?? [];
  if (availableParallelism() < 2 || !cores.includes(0) || !cores.includes(1)) return 'needs cores 0 and 1';
  return null;
}

const skip = cannotRun();
const { dir } = scratch('load-watch');

/** The hog starts once this iteration is printed. */
const HOG_AFTER = 3;
/** The watcher's hold in this test (the CLI's is 2 s), ms: a change the hog causes is told no sooner. */
const HOLD_MS = 1000;

/** Busy threads of the hog: with the agent's worker computing too, the hog takes 3/4 of core 0. */
const HOG_THREADS = 3;

/**
 * Another process taking the watched agent's core: busy threads pinned to core 0. Several,
 * so that it takes most of the core even while the agent's worker computes (the scheduler
 * shares a core evenly between runnable threads): well clear of the 0.15 threshold and of
 * what the shared machine's own load takes of core 0.
 */
function startHog(): ChildProcess {
  const spin = `const { Worker } = require('node:worker_threads');
for (let k = 1; k < ${HOG_THREADS}; k++) new Worker('for (;;) {}', { eval: true });
for (;;) {}`;
  return spawn('taskset', ['-c', '0', process.execPath, '-e', spin], { stdio: 'ignore' });
}

describe.skipIf(skip !== null)(
  `a --load-watch agent beside a CPU hog${skip ? ` (skipped: ${skip})` : ''}`,
  () => {
    let agents: AgentProcess[] = [];
    beforeAll(async () => {
      // A shorter hold than the CLI's 2 s, so the test stays short; the look every 500 ms and
      // the threshold of 0.15 are the CLI's.
      const watched = startAgent(
        ['--name', 'watched', '--workers', '1', '--load-watch', '--load-hold', String(HOLD_MS / 1000)],
        '0',
      );
      const plain = startAgent(['--name', 'plain'], '1');
      agents = await Promise.all([watched, plain]);
    }, 60_000);
    afterAll(() => stopAgents(agents));

    it('yields a load event from the watcher and fewer exemplars on the watched agent', async () => {
      const reportPath = join(dir, 'run.json');
      const run = watchAdmove([
        'opt',
        // Enough rows and iterations that the run goes on for seconds after the hog starts
        // (with the SIMD kernel 12,000 rows were done before the hog's event could be applied,
        // and with faster passes 30 iterations of 40,000 ended 0.5 s after the hog's reading).
        '--synthetic',
        '40000x32',
        '--iterations',
        '60',
        '--patience',
        '0',
        '--no-emulate',
        '--trace',
        'none',
        '--hosts',
        agents.map((a) => a.address).join(','),
        '--report',
        reportPath,
      ]);
      // The coordinator on core 1 too (every thread, and those it starts later inherit it):
      // what runs on core 0 besides the watched agent is the hog and the machine's own load.
      spawnSync('taskset', ['-a', '-cp', '1', String(run.child.pid)]);
      let hog: ChildProcess | null = null;
      let hogFrom = 0;
      try {
        const printed = new RegExp(`^iter\\s+${HOG_AFTER}\\s.*\\s([\\d.]+) s$`, 'm');
        expect(await run.waitFor(printed, 60_000), run.out() + run.err()).toBe(true);
        // The run's clock when the hog starts (printed to 0.1 s; the hog starts just after).
        hogFrom = Number(printed.exec(run.out())![1]) * 1000 - 50;
        hog = startHog();
        expect(await run.done, run.err()).toBe(0);
      } finally {
        hog?.kill('SIGKILL');
      }
      const report = readValidReport(reportPath) as unknown as Report;
      const readings = report.loadReadings.filter((r) => r.agent === 'watched');
      const watchedAt = (it: { exemplars: number[] }) => it.exemplars[0];
      // What happened, for the failure messages: the readings and the watched agent's share.
      const summary = [
        `hog (${HOG_THREADS} threads on core 0) from ${hogFrom.toFixed(0)} ms`,
        ...readings.map(
          (r) =>
            `reading at ${r.receivedAt.toFixed(0)} ms: others took ${r.othersShare.toFixed(2)} of core ${r.cores.join(',')}, load ${r.fraction.toFixed(2)}, PSI some avg10 ${r.pressure?.someAvg10 ?? '–'}`,
        ),
        ...report.redistributions.map(
          (d) =>
            `redistribution #${d.index} at ${d.triggeredAt.toFixed(0)} ms (events ${d.events.join(',') || 'none'}) → ${d.countsAfter.join('/')}`,
        ),
        `watched exemplars per iteration: ${report.iterations.map(watchedAt).join(' ')}`,
        `final: ${report.workers.map((w) => `${w.host} ${w.exemplars}`).join(', ')}`,
      ].join('\n');
      // Each reading became a load event for the agent's one host, taken by the job (one
      // that came after the last pass stays pending).
      for (const r of readings) {
        expect(r.cores).toEqual([0]);
        expect(r.events.map((e) => e.host)).toEqual(['watched']);
        const event = report.events.find((e) => e.seq === r.events[0].seq);
        expect(event).toMatchObject({ type: 'load', host: 'watched', fraction: r.fraction });
        expect(event?.outcome).not.toBe('rejected');
      }
      // The hog caused an event — unless the machine's own load had already taken that much
      // of core 0 and the job had been told so before the hog: then nothing changed, and the
      // debouncer rightly stays quiet.
      // (A reading within the hold of the hog's start reports load that began before it: other
      // test files of a full run share the cores. A CI run at 14:06 UTC: one reading 0.61 s
      // after the hog, "others took 0.68 of core 0", with a 1 s hold.)
      const toldBefore = readings.filter((r) => r.receivedAt < hogFrom + HOLD_MS).at(-1);
      const byHog = readings.find((r) => r.receivedAt >= hogFrom + HOLD_MS);
      if (!(toldBefore && toldBefore.othersShare >= 0.5)) expect(byHog, summary).toBeDefined();
      // The job's last word on the watched agent, with the hog running to the end: mostly taken.
      expect(readings.at(-1)?.othersShare, summary).toBeGreaterThanOrEqual(0.5);
      // Fewer exemplars: one of the load events the job applied (from the hog, or from load
      // already there: other test files of a full run share the cores) lowered the fraction,
      // and the redistribution that applied it took exemplars off the watched agent. Not
      // necessarily the last: its redistribution also weighs the speeds measured since the
      // earlier move (a run at 13:54 UTC: readings of 0.34 then 0.06 left 7306 → 2684, then
      // 2684 → 4673; at 14:13, 0.28 before the hog, 0.05 after it: 6803 → 1976 → 4112). How
      // much of core 1 the machine's other users take is not this test's to know, so the plain
      // agent's share is no yardstick.
      const acted = (r: (typeof readings)[number]) =>
        report.redistributions.some((d) => d.events.includes(r.events[0].seq));
      expect(report.workers[0].host).toBe('watched');
      const lowered = readings.filter(acted).filter((r) => {
        const k = readings.indexOf(r);
        if (!(r.fraction < (k > 0 ? readings[k - 1].fraction : 1))) return false;
        const d = report.redistributions.findIndex((x) => x.events.includes(r.events[0].seq));
        // The two agents are alike, so the job starts them with half the data each.
        const heldBefore = d > 0 ? report.redistributions[d - 1].countsAfter[0] : report.data.train / 2;
        return report.redistributions[d].countsAfter[0] < heldBefore;
      });
      expect(lowered.length, summary).toBeGreaterThan(0);
    }, 120_000);
  },
);
