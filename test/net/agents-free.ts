import type { Agent } from '../../framework/agent/agent.ts';

/**
 * Until every agent has ended its last job (a job's end reaches them a moment after its
 * coordinator closes it), at most `limitMs`: the next job would be refused as busy.
 */
export async function agentsFree(agents: readonly Agent[], limitMs = 5000): Promise<void> {
  const end = performance.now() + limitMs;
  while (agents.some((a) => a.busyWith !== null) && performance.now() < end)
    await new Promise((r) => setTimeout(r, 20));
}
