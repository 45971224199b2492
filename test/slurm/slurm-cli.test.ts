/**
 * `admove slurm` refusing what it cannot run, each in one line with exit 2, before any agent
 * starts: real processes with the environment srun would give (no Slurm needed).
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
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
