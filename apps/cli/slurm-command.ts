/**
 * `srun admove slurm opt [opt flags]`: a job as the tasks of one Slurm step. Every task runs
 * an agent on its node; task 0 also runs the coordinator, which dials every agent (their
 * ports follow from the job, see framework/slurm/layout.ts) and starts `admove scheduler
 * --slurm` to turn node drains into events. No shared filesystem is needed.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { DEFAULT_LOAD_WATCH } from '../../framework/agent/load-watcher.ts';
import { RunFailure, UserError } from '../../framework/errors.ts';
import type { Endpoint } from '../../framework/net/secure-socket.ts';
import { controlPort, type StepAgent, stepAgents } from '../../framework/slurm/layout.ts';
import { readSlurmTask, type SlurmTask } from '../../framework/slurm/task.ts';
import { takeSecretFromEnvironment } from './secret-env.ts';
import type { StopSignals } from './signals.ts';
import { print } from './stdout.ts';

export const SLURM_HELP = `admove slurm — run a job as the tasks of a Slurm step

Usage (in an sbatch script): srun admove slurm opt [opt flags]

Every task starts an agent on its node with SLURM_CPUS_PER_TASK worker threads, named after
the node (NODE.k when a node runs several tasks). Task 0 also runs the coordinator: it dials
every agent (ports derived from SLURM_JOB_ID, SLURM_STEP_ID and SLURM_LOCALID), runs admove opt on them, and
starts admove scheduler --slurm, which vacates a node Slurm drains or loses and makes it
available again when it returns. The other tasks exit 0 when the job ends; if task 0 ends
before a job began (a bad flag, a data file it cannot read), it tells them, and they exit 1.

The secret: export ADMOVE_SECRET in the batch script (e.g. ADMOVE_SECRET=$(openssl rand -hex 32));
srun passes it to the tasks and every connection is TLS 1.3 with it. It is needed when the
step spans several nodes; on one node the agents listen on loopback without it.

Notices: SIGUSR1 (sbatch --signal=USR1@SECONDS), SIGTERM (time limit, preemption, scancel)
or a drain of task 0's node stop the coordinator after the current iteration; it writes its
--checkpoint and --report (marked interrupted) and exits 138, 143 or 75. A requeued job
(SLURM_RESTART_COUNT ≥ 1) resumes from --checkpoint when that file exists.

Flags of admove slurm itself (before or among the opt flags):
  --load-watch   every agent watches its node's load (as admove agent --load-watch) and
                 sends the job load events when other programs take its CPUs
  --keep-nodes   keep a drained node in the job, to take it back when it returns; by default
                 it is released (scontrol update jobid=J NodeList=…) once its data has left

Opt flags set here, not by you: --hosts, --hostfile, --secret-file, --control. The others
are admove opt's: see admove opt --help.
`;

/** Opt flags admove slurm sets itself. */
const OWN_FLAGS = ['--hosts', '--hostfile', '--secret-file', '--control'];
/** How long task 0 waits for every agent to answer. */
const GATHER_MS = 120_000;
/**
 * How long the other tasks wait for the job to begin: task 0 reads the data set first, which
 * can take minutes; past this, task 0 is taken to have failed and the task exits 1.
 */
const JOB_BEGINS_WITHIN_MS = 600_000;
/** How long task 0, failing, spends telling the others no job will come. */
const DISMISS_WITHIN_MS = 5_000;

export async function slurmCommand(argv: readonly string[], signals: StopSignals): Promise<number> {
  const [app, ...given] = argv;
  const loadWatch = given.includes('--load-watch');
  const keepNodes = given.includes('--keep-nodes');
  const rest = given.filter((a) => a !== '--load-watch' && a !== '--keep-nodes');
  // `admove slurm opt --help` too: help is wanted where the job cannot run (outside Slurm).
  if (
    app === undefined ||
    ['--help', '-h', 'help'].includes(app) ||
    rest.some((a) => a === '--help' || a === '-h')
  ) {
    print(SLURM_HELP);
    return 0;
  }
  if (app !== 'opt')
    throw new UserError(`admove slurm runs opt: srun admove slurm opt [flags], not "${app}"`);
  const own = rest.find((a) => OWN_FLAGS.includes(a.split('=')[0]));
  if (own)
    throw new UserError(`${own.split('=')[0]} is set by admove slurm from the Slurm step; leave it out`);
  const task = readSlurmTask(process.env);
  const secret = takeSecretFromEnvironment();
  const { expandNodes, nodeAddresses } = await import('../../framework/slurm/slurm-tools.ts');
  const nodes = await expandNodes(task.nodeList);
  const addresses = await nodeAddresses(nodes);
  const agents = stepAgents(nodes, addresses, task.tasksPerNode, task.jobId, task.stepId);
  if (!secret && new Set(nodes).size > 1) {
    throw new UserError(
      `the step spans ${nodes.length} nodes: export ADMOVE_SECRET in the batch script (e.g. export ADMOVE_SECRET=$(openssl rand -hex 32)) so its connections are authenticated and encrypted`,
    );
  }
  const me = agents.find((a) => a.node === task.nodeName && a.localId === task.localId);
  if (!me) throw new UserError(`node ${task.nodeName} is not in the step's node list ${task.nodeList}`);
  // Notices from Slurm may come twice (the step and srun): each is a notice, never a kill.
  signals.stopAlsoOn('SIGUSR1');
  signals.ignoreRepeats();
  const log = (line: string) => process.stderr.write(`admove slurm [${task.procId}]: ${line}\n`);
  const { Agent } = await import('../../framework/agent/agent.ts');
  let jobEnded: () => void = () => {};
  let jobRan = false;
  const ended = new Promise<void>((resolve) => {
    jobEnded = () => {
      jobRan = true;
      resolve();
    };
  });
  let dismiss: (reason: string) => void = () => {};
  const dismissed = new Promise<string>((resolve) => {
    dismiss = resolve;
  });
  // Task 0 ending without a job on its own agent (it failed before the job began) tells the
  // others, so they exit now instead of waiting for a job that will not come.
  const others = agents.filter((a) => a !== me);
  // A job began on task 0's agent if it is serving one now or ended one (its end may be
  // noticed just after the coordinator returns).
  let ownAgent: { readonly busyWith: string | null } | null = null;
  const dismissOthers = async (why: string) => {
    if (task.procId === 0 && !jobRan && !ownAgent?.busyWith) await dismissAll(others, secret, why);
  };
  const agent = await Agent.start({
    host: secret ? '0.0.0.0' : '127.0.0.1',
    port: me.port,
    name: me.name,
    secret,
    workers: task.cpusPerTask,
    loadWatch: loadWatch ? DEFAULT_LOAD_WATCH : null,
    log,
    onJobEnded: () => jobEnded(),
    onDismissed: (reason) => dismiss(reason),
  }).catch(async (error: unknown) => {
    const message = (error as Error).message;
    const failure = /in use/.test(message)
      ? new RunFailure(
          `port ${me.port} on node ${task.nodeName}, which agent ${me.name} of job ${task.jobId} must listen on, is taken by another program or job; resubmit the job (it gets another id, hence other ports)`,
        )
      : error;
    await dismissOthers(`task 0 failed: ${(failure as Error).message.split('\n')[0]}`);
    throw failure;
  });
  ownAgent = agent;
  log(`agent ${me.name} listening on port ${me.port} with ${task.cpusPerTask} worker(s)`);
  try {
    if (task.procId !== 0) return await serveOneJob(agent, ended, dismissed, signals, log);
    let code: number;
    try {
      code = await coordinate(task, rest, agents, secret, signals, log, keepNodes);
    } catch (error) {
      await dismissOthers(`task 0 failed: ${(error as Error).message.split('\n')[0]}`);
      throw error;
    }
    await dismissOthers(`task 0 ended (exit ${code}) without starting a job`);
    return code;
  } finally {
    await agent.close();
  }
}

/** Tasks other than 0: host workers until the job ends; a notice while idle ends at once. */
async function serveOneJob(
  agent: { readonly busyWith: string | null },
  ended: Promise<void>,
  /** Task 0 said no job will come (it failed first): why. */
  dismissed: Promise<string>,
  signals: StopSignals,
  log: (line: string) => void,
): Promise<number> {
  const notice = signals.stopGracefully();
  const noticed = new Promise<void>((resolve) => notice.addEventListener('abort', () => resolve()));
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), JOB_BEGINS_WITHIN_MS);
  });
  const first = await Promise.race([
    ended.then(() => 'ended' as const),
    noticed.then(() => 'notice' as const),
    dismissed.then((reason) => ({ reason })),
    timedOut,
  ]);
  clearTimeout(timer);
  if (typeof first === 'object') throw new RunFailure(`no job will come: ${first.reason}`);
  if (first === 'timeout' && agent.busyWith === null) {
    throw new RunFailure(
      `no job began within ${JOB_BEGINS_WITHIN_MS / 1000} s; did task 0 fail? (its output says why)`,
    );
  }
  // A notice reaches every task at once: the coordinator is stopping too, and this agent
  // serves it until it has (its checkpoint needs no data from here, but its last pass might).
  if (first !== 'ended' && agent.busyWith !== null) await ended;
  log(first === 'notice' ? 'notice received; the job has ended' : 'the job ended');
  return 0;
}

/** Task 0: wait for every agent, run opt on them, with the Slurm node watcher beside it. */
async function coordinate(
  task: SlurmTask,
  optArgs: readonly string[],
  agents: readonly StepAgent[],
  secret: Buffer | undefined,
  signals: StopSignals,
  log: (line: string) => void,
  keepNodes: boolean,
): Promise<number> {
  const endpoints: Endpoint[] = agents.map((a) => ({ host: secret ? a.address : '127.0.0.1', port: a.port }));
  await waitForAgents(endpoints, secret, log);
  const control = `127.0.0.1:${controlPort(task.jobId, task.stepId)}`;
  const args = [
    ...optArgs,
    '--hosts',
    endpoints.map((e) => `${e.host}:${e.port}`).join(','),
    '--control',
    control,
  ];
  const checkpoint = flagValue(optArgs, '--checkpoint');
  if (task.restartCount > 0 && checkpoint && !flagValue(optArgs, '--resume') && existsSync(checkpoint)) {
    log(`requeued (restart ${task.restartCount}): resuming from ${checkpoint}`);
    args.push('--resume', checkpoint);
  }
  const watcher = startNodeWatcher(control, secret, log, keepNodes);
  try {
    const { optCommand } = await import('./opt-command.ts');
    return await optCommand(args, signals, { secret });
  } finally {
    watcher?.kill('SIGTERM');
  }
}

/**
 * Task 0 failed before its job began: tell the other tasks' agents, so they exit now instead
 * of waiting JOB_BEGINS_WITHIN_MS for a job that will not come. Best effort, a few seconds at
 * most: an agent not reached still ends at that limit.
 */
async function dismissAll(agents: readonly StepAgent[], secret: Buffer | undefined, reason: string) {
  const { dismissAgent } = await import('../../framework/net/agent-connection.ts');
  const told = Promise.allSettled(
    agents.map((a) =>
      dismissAgent({ host: secret ? a.address : '127.0.0.1', port: a.port }, reason, {
        secret,
        connectMs: DISMISS_WITHIN_MS,
      }),
    ),
  );
  await Promise.race([told, new Promise((r) => setTimeout(r, DISMISS_WITHIN_MS).unref())]);
}

/** Every agent answers a probe, or a one-line error after GATHER_MS naming those that did not. */
async function waitForAgents(
  endpoints: readonly Endpoint[],
  secret: Buffer | undefined,
  log: (line: string) => void,
) {
  const { probeAgent } = await import('../../framework/net/agent-connection.ts');
  const waiting = new Set(endpoints);
  const until = performance.now() + GATHER_MS;
  log(`waiting for ${endpoints.length} agent(s)`);
  while (waiting.size > 0) {
    await Promise.all(
      [...waiting].map((e) =>
        probeAgent(e, { secret }).then(
          () => waiting.delete(e),
          () => {},
        ),
      ),
    );
    if (waiting.size === 0) break;
    if (performance.now() > until) {
      const names = [...waiting].map((e) => `${e.host}:${e.port}`).join(', ');
      throw new RunFailure(`agents did not answer within ${GATHER_MS / 1000} s: ${names}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** `admove scheduler --slurm` as a child, when sinfo is here to ask (the secret via its environment). */
function startNodeWatcher(
  control: string,
  secret: Buffer | undefined,
  log: (line: string) => void,
  keepNodes: boolean,
) {
  const launcher = process.argv[1];
  if (!launcher) return null;
  const args = [launcher, 'scheduler', '--slurm', '--job', control, ...(keepNodes ? ['--keep-nodes'] : [])];
  const child = spawn(process.execPath, args, {
    env: secret ? { ...process.env, ADMOVE_SECRET: secret.toString('utf8') } : process.env,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  child.on('error', (error) => log(`the node watcher did not start: ${error.message}`));
  return child;
}

function flagValue(args: readonly string[], flag: string): string | undefined {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === flag) return args[i + 1];
    if (args[i].startsWith(`${flag}=`)) return args[i].slice(flag.length + 1);
  }
  return undefined;
}
