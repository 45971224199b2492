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
import type { JobClient } from '../../scheduler-stub/job-client.ts';

export interface SlurmWatchOptions {
  readonly pollMs: number;
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
      for (const action of actions) await act(client, action, options);
    }
    await Promise.race([new Promise((r) => setTimeout(r, options.pollMs)), client.closed]);
  }
}

async function act(client: JobClient, action: NodeAction, options: SlurmWatchOptions): Promise<void> {
  options.log(`node ${action.node} is ${action.state}`);
  if (action.kind === 'end') {
    await client.end(action.reason).catch(() => {});
    return;
  }
  const hosts = agentsOnNode(action.node, client.hosts);
  if (hosts.length === 0) options.log(`no host of the job runs on node ${action.node}`);
  const sent = hosts.map((host) =>
    client.send(
      action.kind === 'vacate'
        ? {
            type: 'vacate',
            host,
            ...(action.deadlineMs === undefined ? {} : { deadlineMs: action.deadlineMs }),
          }
        : { type: 'available', host },
    ),
  );
  // Records print as the job answers them; the next poll does not wait for that.
  void Promise.all(sent).then(
    (all) => options.show(all.flat()),
    () => {},
  );
}
