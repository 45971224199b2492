/**
 * An agent that went away and is started again on the same address can join the job again
 * (under another name: the lost host keeps its own in the report). Found by a hostile test:
 * the transport kept the dead agent's connection by address, so `add` of the restarted
 * agent failed with "closed".
 */
import { afterEach, expect, it } from 'vitest';
import { Agent } from '../../framework/agent/agent.ts';
import { agentTransport, discoverAgents } from '../../framework/net/agent-transport.ts';
import type { WorkerLink } from '../../framework/runtime/worker-link.ts';
import { ID_SUM_KERNEL } from '../fixtures/id-sum-kernel.ts';
import { until } from '../fixtures/until.ts';

const started: Agent[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((a) => a.close()));
});

async function agentOn(port: number, name: string): Promise<Agent> {
  const agent = await Agent.start({ host: '127.0.0.1', port, name, log: () => {} });
  started.push(agent);
  return agent;
}

function spec(index: number, host: string) {
  return { index, host, kernelModule: ID_SUM_KERNEL, kernelConfig: {}, livenessMs: 1000 };
}

it('an agent restarted on the same address after its connection was lost is claimed afresh', async () => {
  const first = await agentOn(0, 'm1');
  const port = first.address.port;
  const hosts = await discoverAgents([{ endpoint: first.address }], {});
  const transport = agentTransport(hosts, {});
  const links: WorkerLink[] = [];
  try {
    links.push(await transport.start(spec(0, 'm1')));
    await first.close(); // the machine goes away
    await until(() => !links[0].alive, 5000);
    const again = await agentOn(port, 'm1-again');
    const joined = await discoverAgents([{ endpoint: again.address }], {});
    transport.addHosts(joined);
    links.push(await transport.start(spec(1, 'm1-again')));
    expect(links[1].alive).toBe(true);
    expect(await links[1].ids()).toHaveLength(0);
  } finally {
    await Promise.all(links.map((l) => l.close()));
    transport.close();
  }
});

it('an agent released from the job and started again on the same address is claimed afresh too', async () => {
  // Found by review: only a lost agent's connection was forgotten, not a released one's.
  const first = await agentOn(0, 'r1');
  const port = first.address.port;
  const transport = agentTransport(await discoverAgents([{ endpoint: first.address }], {}), {});
  const links: WorkerLink[] = [];
  try {
    links.push(await transport.start(spec(0, 'r1')));
    expect(await transport.release('r1')).toBe(true);
    await first.close();
    const again = await agentOn(port, 'r1-again');
    transport.addHosts(await discoverAgents([{ endpoint: again.address }], {}));
    links.push(await transport.start(spec(1, 'r1-again')));
    expect(await links[1].ids()).toHaveLength(0);
  } finally {
    await Promise.all(links.map((l) => l.close()));
    transport.close();
  }
});
