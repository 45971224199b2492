/**
 * What one task of a Slurm step knows about itself and its step, read from the environment
 * srun gives it. Pure: the environment is passed in.
 */
import { UserError } from '../errors.ts';
import { expandTasksPerNode } from './hostlist.ts';

export interface SlurmTask {
  readonly jobId: number;
  readonly stepId: number;
  /** Rank in the step: task 0 also runs the coordinator. */
  readonly procId: number;
  /** Rank on its node. */
  readonly localId: number;
  /** The node this task runs on (Slurm's name for it). */
  readonly nodeName: string;
  /** Tasks in the step. */
  readonly tasks: number;
  /** CPUs Slurm gave each task: its worker threads. */
  readonly cpusPerTask: number;
  /** The step's nodes, compressed (`node[1-3]`): expand with `scontrol show hostnames`. */
  readonly nodeList: string;
  /** Tasks on each of the step's nodes, in node-list order. */
  readonly tasksPerNode: readonly number[];
  /** How many times Slurm has requeued the job (0 on its first run). */
  readonly restartCount: number;
}

type Env = Readonly<Record<string, string | undefined>>;

/** The task's view of its step; a missing or malformed variable is named in a one-line error. */
export function readSlurmTask(env: Env): SlurmTask {
  if (env.SLURM_PROCID === undefined || env.SLURM_JOB_ID === undefined) {
    throw new UserError(
      'admove slurm runs as the tasks of a Slurm step: start it with srun inside an allocation (SLURM_PROCID is not set)',
    );
  }
  const tasks = count(env, 'SLURM_STEP_NUM_TASKS', count(env, 'SLURM_NTASKS', 1));
  const procId = count(env, 'SLURM_PROCID', 0, 0);
  if (procId >= tasks) throw new UserError(`SLURM_PROCID=${procId} but the step has ${tasks} tasks`);
  const nodeList = env.SLURM_STEP_NODELIST ?? env.SLURM_JOB_NODELIST;
  if (!nodeList) throw new UserError('neither SLURM_STEP_NODELIST nor SLURM_JOB_NODELIST is set');
  const perNode = env.SLURM_STEP_TASKS_PER_NODE ?? env.SLURM_TASKS_PER_NODE ?? String(tasks);
  const tasksPerNode = expandTasksPerNode(perNode);
  const sum = tasksPerNode.reduce((a, b) => a + b, 0);
  if (sum !== tasks) {
    throw new UserError(`SLURM_STEP_TASKS_PER_NODE="${perNode}" counts ${sum} tasks, the step has ${tasks}`);
  }
  const nodeName = env.SLURMD_NODENAME ?? env.SLURM_TOPOLOGY_ADDR;
  if (!nodeName) throw new UserError('SLURMD_NODENAME is not set: cannot tell which node this task is on');
  return {
    jobId: count(env, 'SLURM_JOB_ID', 0, 0),
    stepId: count(env, 'SLURM_STEP_ID', 0, 0),
    procId,
    localId: count(env, 'SLURM_LOCALID', 0, 0),
    nodeName,
    tasks,
    cpusPerTask: count(env, 'SLURM_CPUS_PER_TASK', 1),
    nodeList,
    tasksPerNode,
    restartCount: count(env, 'SLURM_RESTART_COUNT', 0, 0),
  };
}

function count(env: Env, name: string, fallback: number, min = 1): number {
  const text = env[name];
  if (text === undefined || text === '') return fallback;
  // Some counts come as N(xM) when uniform over nodes; only a plain integer is meant here.
  const n = Number(text);
  if (!(Number.isInteger(n) && n >= min)) throw new UserError(`${name}="${text}" is not an integer ≥ ${min}`);
  return n;
}
