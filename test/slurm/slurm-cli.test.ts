/**
 * `admove slurm` refusing what it cannot run, each in one line with exit 2, before any agent
 * starts; and a step whose task 0 fails before its job begins: real processes with the
 * environment srun would give (no Slurm needed).
 */
import { spawn, spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { REPO } from '../cli/run-cli.ts';

const step = {
  SLURM_JOB_ID: '4242',
  SLURM_STEP_ID: '0',
  SLURM_PROCID: '0',
  SLURM_LOCALID: '0',
  SLURMD_NODENAME: 'n1',
  SLURM_STEP_NUM_TASKS: '2',
  SLURM_STEP_NODELIST: 'n[1-2]',
  SLURM_STEP_TASKS_PER_NODE: '1(x2)',
};

function slurm(args: string[], env: Record<string, string>) {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^(SLURM|ADMOVE_SECRET)/.test(k)),
  );
  // An empty PATH for Slurm's tools: scontrol must not be asked about these made-up nodes.
  const r = spawnSync(process.execPath, [`${REPO}apps/cli/admove.mjs`, 'slurm', ...args], {
    cwd: REPO,
    env: { ...clean, ...env, PATH: '/nonexistent' },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('admove slurm, told what it cannot do', () => {
  it.each([
    [[], {}, 0, /^admove slurm — run a job as the tasks of a Slurm step/],
    [['opt', '--help'], {}, 0, /^admove slurm — run a job as the tasks of a Slurm step/],
    [['opt'], {}, 2, /^admove: admove slurm runs as the tasks of a Slurm step: start it with srun/],
    [['kmeans'], step, 2, /^admove: admove slurm runs opt: srun admove slurm opt \[flags\], not "kmeans"\n$/],
    [
      ['opt', '--hosts', 'a:1'],
      step,
      2,
      /^admove: --hosts is set by admove slurm from the Slurm step; leave it out\n$/,
    ],
    [['opt', '--control=127.0.0.1:1'], step, 2, /^admove: --control is set by admove slurm/],
    [['opt'], step, 2, /^admove: the step spans 2 nodes: export ADMOVE_SECRET in the batch script/],
    [['opt'], { ...step, ADMOVE_SECRET: 'short' }, 2, /^admove: ADMOVE_SECRET is shorter than 16 bytes/],
    [
      ['opt'],
      { ...step, SLURM_STEP_TASKS_PER_NODE: '3' },
      2,
      /^admove: SLURM_STEP_TASKS_PER_NODE="3" counts 3 tasks, the step has 2\n$/,
    ],
    [
      ['opt'],
      { ...step, SLURMD_NODENAME: 'n9', ADMOVE_SECRET: 'x'.repeat(32) },
      2,
      /^admove: node n9 is not in the step's node list n\[1-2\]\n$/,
    ],
  ] as const)('%j', (args, env, code, message) => {
    const r = slurm([...args], { ...env });
    expect(r.code, r.stderr).toBe(code);
    if (code === 0) expect(r.stdout).toMatch(message);
    else {
      expect(r.stderr).toMatch(message);
      expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(1);
    }
  });
});

describe('a step whose task 0 fails before the job begins', () => {
  const children: ReturnType<typeof spawn>[] = [];
  // Also after a timeout: no task left running.
  afterEach(() => {
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });

  it('the other tasks are told and exit 1 at once, naming why, instead of waiting 10 minutes', async () => {
    // Two tasks on one node (loopback, no secret needed); a job id of its own, so its ports are free.
    const jobId = String(20_000 + Math.floor(Math.random() * 20_000));
    const env = (procId: number) => ({
      ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(SLURM|ADMOVE_SECRET)/.test(k))),
      SLURM_JOB_ID: jobId,
      SLURM_STEP_ID: '0',
      SLURM_PROCID: String(procId),
      SLURM_LOCALID: String(procId),
      SLURMD_NODENAME: 'n1',
      SLURM_STEP_NUM_TASKS: '2',
      SLURM_STEP_NODELIST: 'n1',
      SLURM_STEP_TASKS_PER_NODE: '2',
      PATH: '/nonexistent',
    });
    const run = (procId: number) => {
      const child = spawn(
        process.execPath,
        [`${REPO}apps/cli/admove.mjs`, 'slurm', 'opt', '--data', '/nonexistent/digits.csv'],
        { cwd: REPO, env: env(procId) },
      );
      children.push(child);
      let stderr = '';
      child.stderr.on('data', (d) => {
        stderr += String(d);
      });
      const started = performance.now();
      return new Promise<{ code: number | null; stderr: string; seconds: number }>((resolve) => {
        child.on('exit', (code) => resolve({ code, stderr, seconds: (performance.now() - started) / 1000 }));
      });
    };
    const [task0, task1] = await Promise.all([run(0), run(1)]);
    expect(task0.code, task0.stderr).toBe(2);
    expect(task0.stderr).toMatch(/\/nonexistent\/digits\.csv/);
    expect(task1.code, task1.stderr).toBe(1);
    expect(task1.stderr).toMatch(/^admove: no job will come: task 0 failed: .*\/nonexistent\/digits\.csv/m);
    expect(task1.seconds).toBeLessThan(60);
  }, 90_000);
});
