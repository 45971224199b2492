import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { agentName, agentPort, controlPort, stepAgents } from '../../framework/slurm/layout.ts';
import { readSlurmTask } from '../../framework/slurm/task.ts';

const step = {
  SLURM_JOB_ID: '42',
  SLURM_STEP_ID: '0',
  SLURM_PROCID: '4',
  SLURM_LOCALID: '1',
  SLURMD_NODENAME: 'n2',
  SLURM_STEP_NUM_TASKS: '5',
  SLURM_CPUS_PER_TASK: '3',
  SLURM_STEP_NODELIST: 'n[1-3]',
  SLURM_STEP_TASKS_PER_NODE: '2(x2),1',
};

describe('a task of a Slurm step', () => {
  it('reads itself and its step from the environment srun gives it', () => {
    expect(readSlurmTask(step)).toEqual({
      jobId: 42,
      stepId: 0,
      procId: 4,
      localId: 1,
      nodeName: 'n2',
      tasks: 5,
      cpusPerTask: 3,
      nodeList: 'n[1-3]',
      tasksPerNode: [2, 2, 1],
      restartCount: 0,
    });
    expect(readSlurmTask({ ...step, SLURM_RESTART_COUNT: '2' }).restartCount).toBe(2);
  });

  it('names the variable that is missing or wrong', () => {
    expect(() => readSlurmTask({})).toThrow(/start it with srun inside an allocation/);
    expect(() => readSlurmTask({ ...step, SLURM_CPUS_PER_TASK: 'two' })).toThrow(/SLURM_CPUS_PER_TASK="two"/);
    expect(() => readSlurmTask({ ...step, SLURM_STEP_TASKS_PER_NODE: '2(x3)' })).toThrow(
      /counts 6 tasks, the step has 5/,
    );
    expect(() => readSlurmTask({ ...step, SLURM_PROCID: '5' })).toThrow(
      /SLURM_PROCID=5 but the step has 5 tasks/,
    );
  });

  it('finds every agent of a step: one per task, distinct ports on a node, named after the node', () => {
    const p = (k: number) => agentPort(42, 0, k);
    expect(stepAgents(['n1', 'n2', 'n3'], ['n1', 'n2', 'n3'], [2, 2, 1], 42, 0)).toEqual([
      { node: 'n1', address: 'n1', localId: 0, name: 'n1.0', port: p(0) },
      { node: 'n1', address: 'n1', localId: 1, name: 'n1.1', port: p(1) },
      { node: 'n2', address: 'n2', localId: 0, name: 'n2.0', port: p(0) },
      { node: 'n2', address: 'n2', localId: 1, name: 'n2.1', port: p(1) },
      { node: 'n3', address: 'n3', localId: 0, name: 'n3', port: p(0) },
    ]);
    // Nodes that share a machine (several slurmd on one test host) count up its ports.
    expect(stepAgents(['vm', 'vm2'], ['vm', 'vm'], [2, 1], 42, 0).map((a) => a.port)).toEqual([
      p(0),
      p(1),
      p(2),
    ]);
    expect(agentName('n3', 0, 1)).toBe('n3');
    expect(() => agentPort(42, 0, 63)).toThrow(/at most 63 tasks a node/);
  });

  it('keeps every port of a step in 10000–32767 (below the ephemeral ports), apart from each other and from its control port', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10_000_000 }),
        fc.integer({ min: 0, max: 100 }),
        (job, stepId) => {
          const ports = Array.from({ length: 63 }, (_, k) => agentPort(job, stepId, k));
          const all = [...ports, controlPort(job, stepId)];
          expect(new Set(all).size).toBe(64);
          for (const p of all) expect(p >= 10_000 && p < 32_768).toBe(true);
        },
      ),
    );
    // Consecutive jobs (the usual neighbours on a node) never share a block.
    expect(agentPort(1000, 0, 0)).not.toBe(agentPort(1001, 0, 0));
  });
});
