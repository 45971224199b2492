/**
 * A coordinator that did not run past the liveness limit (stopped, or starved of CPU) says
 * so when it finds its agents silent, as an agent does when it was the one stopped. Found by
 * a hostile test: after a 5 s SIGSTOP of the coordinator every healthy agent was blamed
 * ("sent no heartbeat for 5194 ms") and nothing said the silence was the coordinator's own.
 */
import { afterEach, expect, it } from 'vitest';
import { agentTransport, discoverAgents } from '../../framework/net/agent-transport.ts';
import type { WorkerLink } from '../../framework/runtime/worker-link.ts';
import { until } from '../fixtures/until.ts';
import { type AgentProcess, startAgent, stopAgents } from './agent-processes.ts';

const agents: AgentProcess[] = [];
afterEach(() => stopAgents(agents.splice(0)));

it('a coordinator whose own event loop stalls past the limit names itself, not the agent, as the silent one', async () => {
  const agent = await startAgent(['--name', 'steady']);
  agents.push(agent);
  const hosts = await discoverAgents([{ endpoint: { host: '127.0.0.1', port: agent.port } }], {});
  const transport = agentTransport(hosts, {});
  let link: WorkerLink | null = null;
  try {
    link = await transport.start({
      index: 0,
      host: 'steady',
      // Agent processes run the compiled build, which has Opt's kernels but not the test fixtures.
      kernelModule: new URL('../../apps/opt/model/kernel.ts', import.meta.url).href,
      kernelConfig: { inputs: 4, hidden: 2, outputs: 2, loss: 'xent' },
      livenessMs: 400,
    });
    // This process does not run for 1.2 s: no heartbeat goes out, none is read.
    const until1200 = performance.now() + 1200;
    while (performance.now() < until1200) {
      /* busy: the event loop is stalled, as under SIGSTOP */
    }
    await until(() => link?.alive === false, 5000);
    expect(link.fault?.message).toMatch(
      // Whichever it hears of first, the missing heartbeat or the connection the agent closed.
      /^worker steady (hung|exited) during idle: .*, but this coordinator itself did not run for \d+ ms \(stopped, or starved of CPU\), past the liveness limit of 400 ms: the agent will have dropped the job$/,
    );
  } finally {
    await link?.close();
    transport.close();
  }
});
