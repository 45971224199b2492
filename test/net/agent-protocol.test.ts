/**
 * The agent protocol in one process: agents (Agent.start: real sockets, real worker threads)
 * and a job on them through the agent transport; and what an agent does with a peer that
 * speaks another version or sends exemplars of another schema.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOptKernel } from '../../apps/opt/model/kernel.ts';
import { initWeights, type NetworkShape } from '../../apps/opt/model/network.ts';
import { Agent } from '../../framework/agent/agent.ts';
import { columnsFromTable } from '../../framework/exemplars/batch.ts';
import { encodeExemplars } from '../../framework/exemplars/ipc.ts';
import { agentTransport, discoverAgents } from '../../framework/net/agent-transport.ts';
import { MessageChannel } from '../../framework/net/message-channel.ts';
import { connect } from '../../framework/net/secure-socket.ts';
import { AdmJob } from '../../framework/runtime/adm-job.ts';
import { SeededRandom } from '../../framework/util/random.ts';
import { ADMOVE_VERSION } from '../../framework/util/version.ts';
import { computingWatch, jobOptions, randomColumns } from '../runtime/helpers.ts';

const OPT_KERNEL = new URL('../../apps/opt/model/kernel.ts', import.meta.url).href;

let agents: Agent[] = [];
const logs: string[] = [];
beforeAll(async () => {
  agents = await Promise.all(
    ['a0', 'a1', 'a2'].map((name) =>
      Agent.start({ host: '127.0.0.1', port: 0, name, log: (line) => logs.push(`${name}: ${line}`) }),
    ),
  );
});
afterAll(() => Promise.all(agents.map((a) => a.close())));

const endpointOf = (a: Agent) => ({ endpoint: a.address });

describe('a job on agents', () => {
  it('a gradient whose pass is interrupted by a vacate over TCP equals the single-thread one to 1e-9', async () => {
    const data = randomColumns(6000, 40, 21);
    const shape: NetworkShape = { inputs: 40, hidden: 16, outputs: 3, loss: 'xent' };
    const weights = initWeights(shape, new SeededRandom(3));
    const kernel = createOptKernel(shape);
    const reference = new Float64Array(kernel.accumulatorLength(weights, 40));
    kernel.accumulate(columnsFromTable(data.features, data.labels, 40), 0, data.count, weights, reference);

    const hosts = await discoverAgents(agents.map(endpointOf), {});
    expect(hosts.map((h) => h.name)).toEqual(['a0', 'a1', 'a2']);
    const transport = agentTransport(hosts, {});
    const watch = computingWatch();
    const job = await AdmJob.start({
      ...jobOptions(data, [1, 2, 4], {
        kernelModule: OPT_KERNEL,
        kernelConfig: shape,
        calibrationParams: weights,
        onTransition: watch.onTransition,
        transport,
      }),
      hosts: hosts.map((h, i) => ({ name: h.name, speed: [1, 2, 4][i] })),
    });
    try {
      expect(agents.map((a) => a.busyWith !== null)).toEqual([true, true, true]);
      const quiet = await job.pass(weights);
      const computing = watch.next();
      const pass = job.pass(weights);
      await computing;
      job.send({ type: 'vacate', host: 'a2' });
      const interrupted = await pass;
      expect(job.redistributions().map((r) => r.reason)).toContain('evacuate');
      expect(job.counts()[2]).toBe(0);
      // The agents' own account of what they hold: every id exactly once.
      const held = (await job.heldIds()).flatMap((ids) => [...ids]).sort((x, y) => x - y);
      expect(held).toEqual(Array.from({ length: data.count }, (_, i) => i));
      for (const acc of [quiet, interrupted]) {
        expect(acc[1]).toBe(data.count);
        let worst = 0;
        for (let i = 0; i < reference.length; i++) {
          const scale = Math.max(Math.abs(reference[i]), 1e-3 * Math.abs(reference[0]));
          worst = Math.max(worst, Math.abs(acc[i] - reference[i]) / scale);
        }
        expect(worst).toBeLessThan(1e-9);
      }
    } finally {
      await job.close();
      transport.close();
    }
    // Closing the job frees the agents for the next one.
    for (let i = 0; i < 100 && agents.some((a) => a.busyWith !== null); i++)
      await new Promise((r) => setTimeout(r, 20));
    expect(agents.map((a) => a.busyWith)).toEqual([null, null, null]);
  }, 60_000);
});

describe('what an agent refuses', () => {
  async function hello(agent: Agent, header: Record<string, unknown>): Promise<MessageChannel> {
    const channel = new MessageChannel(await connect(agent.address));
    await channel.send({ type: 'hello', ...header });
    return channel;
  }

  it('a coordinator of another version, naming both versions', async () => {
    const channel = await hello(agents[0], { version: '0.0.0-other', role: 'job', job: 'x' });
    const reply = (await channel.next()).header;
    expect(reply.type).toBe('refused');
    expect(reply.reason).toBe(
      `admove version mismatch: agent a0 runs ${ADMOVE_VERSION}, the coordinator 0.0.0-other; install the same version on both`,
    );
    expect(agents[0].busyWith).toBeNull();
  });

  it('exemplars of another schema: the insert is refused with the reason, and the agent serves the next job', async () => {
    const control = await hello(agents[1], { version: ADMOVE_VERSION, role: 'job', job: 'schema' });
    expect((await control.next()).header.type).toBe('welcome');
    await control.send({
      type: 'setup',
      kernel: 'admove:apps/opt/model/kernel',
      kernelConfig: { inputs: 4, hidden: 2, outputs: 2, loss: 'xent' },
      livenessMs: 3000,
    });
    expect((await control.next()).header.type).toBe('ready');
    const worker = await hello(agents[1], {
      version: ADMOVE_VERSION,
      role: 'worker',
      job: 'schema',
      slot: 0,
    });
    expect((await worker.next()).header.type).toBe('welcome');
    // An insert announcing 4 features whose stream carries 3.
    const three = columnsFromTable(new Float32Array(6), new Int32Array(2), 3);
    await worker.send({ type: 'call', op: 'insert', dim: 4, rows: 2, bytes: 0 }, [
      encodeExemplars([three], 3),
    ]);
    const reply = (await worker.next()).header as {
      type: string;
      failure: { type: string; message: string };
    };
    expect(reply.type).toBe('fail');
    expect(reply.failure.type).toBe('refused');
    expect(reply.failure.message).toMatch(/features|FixedSizeList|schema/i);
    control.close();
    for (let i = 0; i < 100 && agents[1].busyWith !== null; i++) await new Promise((r) => setTimeout(r, 20));
    expect(agents[1].busyWith).toBeNull();
  });

  it('a worker connection for a job the agent does not serve', async () => {
    const channel = await hello(agents[2], { version: ADMOVE_VERSION, role: 'worker', job: 'nope', slot: 0 });
    expect((await channel.next()).header).toMatchObject({
      type: 'refused',
      reason: 'agent a2 serves no job nope',
    });
  });
});
