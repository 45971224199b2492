/**
 * admove under a real Slurm: the cluster .ci/slurm-up brings up on this machine (two nodes,
 * one slurmd each), jobs submitted with sbatch running the example script
 * apps/opt/slurm/opt.sbatch, Slurm's own signals, drains and requeues.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const repo = new URL('../../', import.meta.url).pathname;
const script = join(repo, 'apps/opt/slurm/opt.sbatch');

function sh(command: string, args: string[]): string {
  return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Why these tests cannot run here, or null when two idle nodes are up. */
function unavailable(): string | null {
  if (process.getuid?.() !== 0) return 'not root';
  try {
    const nodes = sh('sinfo', ['-h', '-N', '-o', '%N %T']).trim().split('\n');
    if (nodes.length < 2) return `Slurm has ${nodes.length} node(s); .ci/slurm-up makes two`;
    return null;
  } catch {
    return 'no Slurm running (start it with .ci/slurm-up)';
  }
}
const why = unavailable();
if (why) console.log(`Slurm tests skipped: ${why}`);

const dir = mkdtempSync(join(tmpdir(), 'admove-slurm-'));
const jobs: string[] = [];
const drained = new Set<string>();
const [firstNode, secondNode] = why ? ['', ''] : sh('sinfo', ['-h', '-N', '-o', '%N']).trim().split('\n');

// `admove` on PATH, as the example script expects: this checkout's launcher.
mkdirSync(join(dir, 'bin'));
writeFileSync(
  join(dir, 'bin/admove'),
  `#!/bin/sh\nexec ${process.execPath} ${repo}apps/cli/admove.mjs "$@"\n`,
);
chmodSync(join(dir, 'bin/admove'), 0o755);

afterAll(() => {
  for (const j of jobs) {
    try {
      sh('scancel', [j]);
    } catch {}
  }
  for (const n of drained) {
    try {
      sh('scontrol', ['update', `nodename=${n}`, 'state=resume']);
    } catch {}
  }
  rmSync(dir, { recursive: true, force: true });
});

/** Submit the example script with sbatch options and opt flags; its output goes to `dir`. */
function submit(name: string, sbatch: string[], opt: string[]): string {
  const out = join(dir, name);
  mkdirSync(out, { recursive: true });
  const id = execFileSync(
    'sbatch',
    ['--parsable', `--chdir=${out}`, `--output=${out}/job-%j.out`, ...sbatch, script, ...opt],
    {
      encoding: 'utf8',
      env: { ...process.env, PATH: `${dir}/bin:${process.env.PATH}`, ADMOVE_OUT: out },
    },
  ).trim();
  jobs.push(id);
  return id;
}

function job(id: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const m of sh('scontrol', ['show', 'job', '-o', id]).matchAll(/(\w+)=(\S*)/g)) fields[m[1]] = m[2];
  return fields;
}

function output(id: string, name: string): string {
  try {
    return readFileSync(join(dir, name, `job-${id}.out`), 'utf8');
  } catch {
    return '';
  }
}

async function until<T>(
  what: string,
  ms: number,
  look: () => T | undefined | false,
  context: () => string = () => '',
): Promise<T> {
  const end = performance.now() + ms;
  for (;;) {
    const v = look();
    if (v) return v;
    if (performance.now() > end)
      throw new Error(`timed out after ${ms} ms waiting for ${what}\n${context()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** When each job was first seen held after a requeue (see `startingNow`). */
const heldSince = new Map<string, number>();
/**
 * How long a requeued job stays held before the test lifts the hold: lifted at once, it was
 * started 0.2 s after its last run's batch step ended and Slurm killed it ("non-startable
 * batch job: Job credential revoked", exit 1); started 1 s after, it ran.
 */
const HOLD_MS = 3000;

/**
 * The job's state, with a requeued job's ~2-minute hold (BeginTime) lifted after HOLD_MS: an
 * update made while Slurm was still finishing the requeue was seen not to take under load, so
 * it is repeated on every look until the job runs.
 */
function startingNow(id: string): Record<string, string> {
  const j = job(id);
  if (j.JobState === 'PENDING' && j.Reason === 'BeginTime') {
    const since = heldSince.get(id) ?? performance.now();
    heldSince.set(id, since);
    if (performance.now() - since >= HOLD_MS) sh('scontrol', ['update', `jobid=${id}`, 'starttime=now']);
  } else {
    heldSince.delete(id);
  }
  return j;
}

const ended = (id: string, ms: number) =>
  until(`job ${id} to end`, ms, () => {
    const s = startingNow(id).JobState;
    return ['COMPLETED', 'FAILED', 'CANCELLED', 'TIMEOUT', 'NODE_FAIL'].includes(s) && s;
  });

interface Report {
  status: string;
  resumedFrom?: { iteration: number };
  final: { testAccuracy: number; error: number; iterations: number };
  events: { type: string; host: string; outcome: string }[];
  redistributions: { reason: string; countsAfter: number[] }[];
  workers: { host: string; exemplars: number }[];
  faults: unknown[];
}
const report = (name: string, id: string): Report =>
  JSON.parse(readFileSync(join(dir, name, `admove-opt-${id}.report.json`), 'utf8'));

function drain(node: string): void {
  drained.add(node);
  sh('scontrol', ['update', `nodename=${node}`, 'state=drain', 'reason=admove-test']);
}
function resume(node: string): void {
  sh('scontrol', ['update', `nodename=${node}`, 'state=resume']);
  drained.delete(node);
}

describe.skipIf(why !== null)('admove slurm on a real Slurm', () => {
  it('trains MNIST as 3 tasks on 2 nodes; a node drained under it is vacated, then released so the drain completes', async () => {
    const id = submit('mnist', ['-N', '2', '-n', '3', '-c', '1'], ['--iterations', '50']);
    const out = () => output(id, 'mnist');
    // Drain the node that is not the coordinator's once the job computes.
    await until('iteration 5', 90_000, () => /iter\s+5\b/.test(out()), out);
    drain(secondNode);
    await until('the evacuation', 30_000, () => /redistribution #\d+ \(evacuate\)/.test(out()), out);
    // Its data gone, the node leaves the job (its agent first), and Slurm's drain completes.
    await until(
      'the release',
      30_000,
      () => job(id).NodeList === firstNode,
      () => `${job(id).NodeList}\n${out()}`,
    );
    await until(
      'the drained state',
      30_000,
      () => sh('sinfo', ['-h', '-n', secondNode, '-o', '%T']).trim() === 'drained',
    );
    resume(secondNode);
    expect(await ended(id, 150_000), out()).toBe('COMPLETED');
    expect(out()).not.toMatch(/srun: error/);
    const r = report('mnist', id);
    expect(r.status).toBe('completed');
    expect(r.final.testAccuracy).toBeGreaterThanOrEqual(0.9);
    // Named after Slurm's nodes: two tasks on the first (node.k), one on the second.
    expect(r.workers.map((w) => w.host)).toEqual([`${firstNode}.0`, `${firstNode}.1`, secondNode]);
    const fromSlurm = r.events.filter((e) => e.host === secondNode);
    expect(fromSlurm.map((e) => `${e.type} ${e.outcome}`)).toEqual(['vacate applied']);
    expect(r.redistributions.some((d) => d.reason === 'evacuate' && d.countsAfter[2] === 0)).toBe(true);
    expect(r.workers[2].exemplars).toBe(0);
    // Letting the released agent go is not a fault.
    expect(r.faults).toEqual([]);
  }, 240_000);

  it('USR1 and a drain of the coordinator node each stop the job with checkpoint and report; requeued, it ends as an uninterrupted run', async () => {
    const opt = [
      '--synthetic',
      '90000x20',
      '--hidden',
      '16',
      '--iterations',
      '50',
      '--patience',
      '0',
      '--trace',
      'none',
    ];
    const sbatch = ['-N', '1', '-n', '3', '-c', '1', '--time=10'];
    // The uninterrupted run goes on the second node meanwhile; the interrupted one stays on the first.
    const reference = submit('reference', [...sbatch, '-w', secondNode], opt);
    const id = submit('notices', [...sbatch, '-w', firstNode], [...opt, '--checkpoint-every', '1']);
    const out = () => output(id, 'notices');
    // Iterations of run `restarts` (1: the first): counted after its own first line, since a
    // requeued job's output is appended to the last run's.
    const iterationsOf = (restarts: number) => {
      const marker = restarts === 1 ? 'data: ' : `requeued (restart ${restarts - 1})`;
      const at = out().lastIndexOf(marker);
      return at < 0
        ? 0
        : (out()
            .slice(at)
            .match(/^iter\s+\d+/gm)?.length ?? 0);
    };
    const interruptedBy = async (notice: () => void, restarts: number) => {
      await until(
        'a few iterations',
        90_000,
        () => startingNow(id).JobState === 'RUNNING' && iterationsOf(restarts) >= 3,
        () => `${JSON.stringify(job(id))}\n${out().slice(-2000)}`,
      );
      const endTime = Date.parse(job(id).EndTime);
      notice();
      // The script requeues the job (exit 138 or 75); Slurm holds a requeued job ~2 minutes.
      await until(
        'the requeue',
        60_000,
        () => job(id).Restarts === String(restarts) && job(id).JobState === 'PENDING',
        () => `${JSON.stringify(job(id))}\n${out().slice(-3000)}`,
      );
      const r = report('notices', id);
      expect(r.status, out()).toBe('interrupted');
      const written = statSync(join(dir, 'notices', `admove-opt-${id}.checkpoint.json`)).mtimeMs;
      expect(written).toBeLessThan(endTime);
      return r.final.iterations;
    };
    const first = await interruptedBy(() => sh('scancel', ['--signal=USR1', '--full', id]), 1);
    expect(out()).toMatch(/task 0: Exited with exit code 138/);
    const second = await interruptedBy(() => drain(firstNode), 2);
    expect(out()).toMatch(/is draining/);
    expect(second, out()).toBeGreaterThan(first);
    resume(firstNode);
    expect(await ended(id, 120_000), out()).toBe('COMPLETED');
    expect(await ended(reference, 120_000), output(reference, 'reference')).toBe('COMPLETED');
    const done = report('notices', id);
    const ref = report('reference', reference);
    expect(done.resumedFrom?.iteration).toBe(second);
    expect(done.final.iterations).toBe(ref.final.iterations);
    expect(Math.abs(done.final.error - ref.final.error) / ref.final.error).toBeLessThan(1e-9);
    expect(done.final.testAccuracy).toBe(ref.final.testAccuracy);
  }, 400_000);
});
