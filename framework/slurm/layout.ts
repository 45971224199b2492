/**
 * Where a step's agents listen and what they are called, derived from the job alone, so
 * task 0 finds every agent without a shared file: each task's port comes from the job id,
 * the step id and its rank on its node; each node runs `tasksPerNode[i]` of them.
 */
import { UserError } from '../errors.ts';

/** Agents on one machine go up to this; the next port of the block is the job's control port. */
export const MAX_TASKS_PER_NODE = 63;
/**
 * 10000–32767: below Linux's ephemeral ports (32768–60999 by default), which outgoing
 * connections take — an agent port in that range can be found taken by any client.
 */
const PORT_FIRST = 10_000;
const BLOCKS = 355; // 10000 + 355 × 64 = 32720

/** The first port of this step's block of 64 (job and step spread over the blocks). */
export function portBlock(jobId: number, stepId: number): number {
  return PORT_FIRST + ((jobId * 7 + stepId) % BLOCKS) * 64;
}

/** The port the agent of the task of rank `localId` on its node listens on. */
export function agentPort(jobId: number, stepId: number, localId: number): number {
  if (!(Number.isInteger(localId) && localId >= 0 && localId < MAX_TASKS_PER_NODE)) {
    throw new UserError(
      `SLURM_LOCALID=${localId}: admove slurm runs at most ${MAX_TASKS_PER_NODE} tasks a node`,
    );
  }
  return portBlock(jobId, stepId) + localId;
}

/** The job's control port on task 0's node (loopback): the last port of the block. */
export function controlPort(jobId: number, stepId: number): number {
  return portBlock(jobId, stepId) + MAX_TASKS_PER_NODE;
}

/** A node's name when it runs one task; `node.k` for rank k when it runs several. */
export function agentName(node: string, localId: number, tasksOnNode: number): string {
  return tasksOnNode === 1 ? node : `${node}.${localId}`;
}

export interface StepAgent {
  readonly node: string;
  /** Where the node is reached (Slurm's NodeAddr; usually its name). */
  readonly address: string;
  /** Rank on its node (SLURM_LOCALID). */
  readonly localId: number;
  readonly name: string;
  readonly port: number;
}

/**
 * Every agent of the step: node by node, rank by rank. Ports count up per address, so nodes
 * that share one machine (several slurmd on a test host) never share a port; on a real
 * cluster, where every node has an address of its own, an agent's port is its rank's.
 */
export function stepAgents(
  nodes: readonly string[],
  addresses: readonly string[],
  tasksPerNode: readonly number[],
  jobId: number,
  stepId: number,
): StepAgent[] {
  if (nodes.length !== tasksPerNode.length) {
    throw new UserError(
      `the step has ${nodes.length} nodes but task counts for ${tasksPerNode.length} (SLURM_STEP_TASKS_PER_NODE)`,
    );
  }
  const used = new Map<string, number>();
  return nodes.flatMap((node, i) =>
    Array.from({ length: tasksPerNode[i] }, (_, k) => {
      const address = addresses[i] ?? node;
      const slot = used.get(address) ?? 0;
      used.set(address, slot + 1);
      return {
        node,
        address,
        localId: k,
        name: agentName(node, k, tasksPerNode[i]),
        port: agentPort(jobId, stepId, slot),
      };
    }),
  );
}
