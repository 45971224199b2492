/** Agents in this process (`Agent.start`: real sockets and worker threads), and an ADM job on them, for tests. */
import { Agent } from '../../framework/agent/agent.ts';
import type { ExemplarColumns } from '../../framework/exemplars/columns.ts';
import { type AgentTransport, agentTransport, discoverAgents } from '../../framework/net/agent-transport.ts';
import type { Endpoint } from '../../framework/net/secure-socket.ts';
import { AdmJob, type JobOptions } from '../../framework/runtime/adm-job.ts';
import { jobOptions, randomColumns, referenceSums } from '../runtime/helpers.ts';

/** Agents named `names` on free loopback ports, logging nothing. */
export function startAgentsHere(names: readonly string[]): Promise<Agent[]> {
  return Promise.all(names.map((name) => Agent.start({ host: '127.0.0.1', port: 0, name, log: () => {} })));
}

export interface JobOnAgents {
  readonly job: AdmJob;
  readonly transport: AgentTransport;
  readonly data: ExemplarColumns;
  readonly reference: Float64Array;
  /** Closes the job, then the transport. */
  close(): Promise<void>;
}

/**
 * An ADM job of `rows` random exemplars (8 features, `seed`) on one worker per agent,
 * unemulated, not rebalancing on speeds; `endpoint(i)` may route agent `i` elsewhere (a tap).
 */
export async function jobOnAgents(
  agents: readonly Agent[],
  o: {
    readonly rows: number;
    readonly seed: number;
    readonly speeds?: readonly number[];
    readonly endpoint?: (i: number) => Endpoint | undefined;
    readonly options?: Partial<JobOptions>;
  },
): Promise<JobOnAgents> {
  const found = await discoverAgents(
    agents.map((a) => ({ endpoint: a.address })),
    {},
  );
  const via = found.map((h, i) => {
    const endpoint = o.endpoint?.(i);
    return endpoint ? { ...h, endpoint } : h;
  });
  const transport = agentTransport(via, {});
  const data = randomColumns(o.rows, 8, o.seed);
  const job = await AdmJob.start({
    ...jobOptions(
      data,
      via.map(() => 1),
      { emulateSpeeds: false, soloRate: 1e6, rebalance: false, transport, ...o.options },
    ),
    hosts: via.map((h, i) => ({ name: h.name, speed: o.speeds?.[i] ?? 1 })),
  });
  return {
    job,
    transport,
    data,
    reference: referenceSums(data),
    async close() {
      await job.close();
      transport.close();
    },
  };
}
