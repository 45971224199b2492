/**
 * `admove scheduler --slurm`: poll the job's nodes in Slurm and send the job events for them
 * — vacate (with the start of a maintenance reservation as its deadline) when a node turns
 * draining, failing or down, available when it returns, and end when the node that leaves
 * is the coordinator's own. Slurm tells a job none of this itself (NOTES-SLURM).
 */
import type { EventRecord } from '../../framework/events/types.ts';
import {
  agentsOnNode,
  type NodeAction,
  NodeWatch,
  parseNodeStates,
  parseReservations,
} from '../../framework/slurm/node-watch.ts';
import { expandNodes, slurmCommand } from '../../framework/slurm/slurm-tools.ts';
import { readSlurmTask } from '../../framework/slurm/task.ts';
import { type JobClient, RequestRefused } from '../../scheduler-stub/job-client.ts';

export interface SlurmWatchOptions {
  readonly pollMs: number;
  /** After a vacate has moved a node's data away, give the node back to Slurm (default). */
  readonly releaseNodes: boolean;
  readonly show: (records: readonly EventRecord[]) => void;
  readonly log: (line: string) => void;
}

/** Polls until the job's control port closes. */
export async function watchSlurmNodes(client: JobClient, options: SlurmWatchOptions): Promise<void> {
  const task = readSlurmTask(process.env);
  const nodes = await expandNodes(task.nodeList);
  const watch = new NodeWatch(nodes, task.nodeName);
  options.log(`watching ${nodes.length} node(s) of job ${task.jobId} every ${options.pollMs} ms`);
  let open = true;
  void client.closed.then(() => {
    open = false;
  });
  while (open) {
    const polled = await Promise.all([
      slurmCommand('sinfo', ['-h', '-N', '-n', nodes.join(','), '-o', '%N %T']),
      // No reservation, or not allowed to list them: no deadlines, still the events.
      slurmCommand('scontrol', ['show', 'reservation', '-o']).catch(() => ''),
    ]).catch((error: unknown) => {
      options.log((error as Error).message);
      return null;
    });
    if (polled !== null) {
      const [states, reservations] = polled;
      const actions = watch.update(parseNodeStates(states), parseReservations(reservations), Date.now());
      for (const action of actions) await act(client, action, options, watch, task.jobId);
    }
    await Promise.race([new Promise((r) => setTimeout(r, options.pollMs)), client.closed]);
  }
}

async function act(
  client: JobClient,
  action: NodeAction,
  options: SlurmWatchOptions,
  watch: NodeWatch,
  jobId: number,
): Promise<void> {
  options.log(`node ${action.node} is ${action.state}`);
  if (action.kind === 'end') {
    await client.end(action.reason).catch(() => {});
    return;
  }
  const hosts = agentsOnNode(action.node, client.hosts);
  if (hosts.length === 0) options.log(`no host of the job runs on node ${action.node}`);
  const sent = Promise.all(
    hosts.map((host) =>
      client.send(
        action.kind === 'vacate'
          ? {
              type: 'vacate',
              host,
              ...(action.deadlineMs === undefined ? {} : { deadlineMs: action.deadlineMs }),
            }
          : { type: 'available', host },
      ),
    ),
  );
  // Records print as the job answers them; the next poll does not wait for that.
  void sent.then(
    (all) => {
      options.show(all.flat());
      if (action.kind === 'vacate' && options.releaseNodes && hosts.length > 0) {
        void releaseNode(client, action.node, hosts, watch, jobId, options);
      }
    },
    () => {},
  );
}

/** How long a vacated node's data may take to leave before the node is kept after all. */
const RELEASE_WITHIN_MS = 10 * 60_000;

/**
 * Once the node's hosts hold nothing, the job lets their agents go (they exit 0) and the
 * node leaves the allocation (`scontrol update jobid=J NodeList=…`), so Slurm's drain can
 * finish. The agents must be gone first: a task still running on a node removed from a job
 * is killed, and its step then fails.
 */
async function releaseNode(
  client: JobClient,
  node: string,
  hosts: readonly string[],
  watch: NodeWatch,
  jobId: number,
  options: SlurmWatchOptions,
): Promise<void> {
  const until = performance.now() + RELEASE_WITHIN_MS;
  for (;;) {
    try {
      await client.release(hosts);
      break;
    } catch (error) {
      if (!(error instanceof RequestRefused) || performance.now() > until) {
        options.log(`node ${node} stays in the job: ${(error as Error).message}`);
        return;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  watch.forget(node);
  try {
    const current = /\bNodeList=(\S+)/.exec(
      await slurmCommand('scontrol', ['show', 'job', '-o', String(jobId)]),
    )?.[1];
    const rest = (await expandNodes(current ?? '')).filter((n) => n !== node);
    // The agents have just been let go: give their tasks a moment to exit before the shrink.
    await new Promise((r) => setTimeout(r, 1000));
    await slurmCommand('scontrol', ['update', `jobid=${jobId}`, `NodeList=${rest.join(',')}`]);
    options.log(`node ${node} released from job ${jobId} (now ${rest.join(',')})`);
  } catch (error) {
    options.log(
      `node ${node}: its agents are gone but the job could not release it: ${(error as Error).message}`,
    );
  }
}
