/**
 * The agent protocol in one process: agents (Agent.start: real sockets, real worker threads)
 * and a job on them through the agent transport; and what an agent does with a peer that
 * speaks another version or sends exemplars of another schema.
 */
import { once } from 'node:events';
import { type AddressInfo, createConnection, createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOptKernel } from '../../apps/opt/model/kernel.ts';
import { initWeights, type NetworkShape } from '../../apps/opt/model/network.ts';
import { Agent } from '../../framework/agent/agent.ts';
import { columnsFromTable } from '../../framework/exemplars/batch.ts';
import type { ExemplarColumns } from '../../framework/exemplars/columns.ts';
import { encodeExemplars } from '../../framework/exemplars/ipc.ts';
import { dismissAgent } from '../../framework/net/agent-connection.ts';
import { type AgentTransport, agentTransport, discoverAgents } from '../../framework/net/agent-transport.ts';
import { MessageChannel } from '../../framework/net/message-channel.ts';
import { connect } from '../../framework/net/secure-socket.ts';
import { AdmJob } from '../../framework/runtime/adm-job.ts';
import type { JobOptions } from '../../framework/runtime/job-types.ts';
import { SeededRandom } from '../../framework/util/random.ts';
import { ADMOVE_VERSION } from '../../framework/util/version.ts';
import { computingWatch, jobOptions, randomColumns, worstRelativeError } from '../runtime/helpers.ts';
import { agentsFree } from './agents-free.ts';
import { type Forward, startForward } from './forward.ts';

const OPT_KERNEL = new URL('../../apps/opt/model/kernel.ts', import.meta.url).href;

let agents: Agent[] = [];
const logs: string[] = [];
beforeAll(async () => {
  agents = await Promise.all(
    ['a0', 'a1', 'a2'].map((name) =>
      Agent.start({
        host: '127.0.0.1',
        port: 0,
        name,
        acceptFaults: true,
        log: (line) => logs.push(`${name}: ${line}`),
      }),
    ),
  );
});
afterAll(() => Promise.all(agents.map((a) => a.close())));

const endpointOf = (a: Agent) => ({ endpoint: a.address });

/** Job options on agents: real speeds, no calibration, no rebalancing by speed (only events move data). */
const onAgents = (transport: AgentTransport, extra: Partial<JobOptions> = {}): Partial<JobOptions> => ({
  emulateSpeeds: false,
  soloRate: 1e6,
  rebalance: false,
  transport,
  ...extra,
});

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
      const receivedBefore = transport.bytesReceived();
      const computing = watch.next();
      const pass = job.pass(weights);
      await computing;
      job.send({ type: 'vacate', host: 'a2' });
      const interrupted = await pass;
      // On a loaded machine the pass may end before the vacate lands: then the next pass moves.
      const next = await job.pass(weights);
      expect(job.redistributions().map((r) => r.reason)).toContain('evacuate');
      expect(job.counts()[2]).toBe(0);
      // The exemplars went from agent to agent: the coordinator got the plan's replies and the
      // pass's accumulators (a few kB), not the ~1.8 MB that moved.
      const moved = job.redistributions().reduce((s, r) => s + r.bytesMoved, 0);
      expect(moved).toBeGreaterThan(500_000);
      expect(transport.bytesReceived() - receivedBefore).toBeLessThan(50_000);
      // The agents' own account of what they hold: every id exactly once.
      const held = (await job.heldIds()).flatMap((ids) => [...ids]).sort((x, y) => x - y);
      expect(held).toEqual(Array.from({ length: data.count }, (_, i) => i));
      for (const acc of [quiet, interrupted, next]) {
        expect(acc[1]).toBe(data.count);
        expect(worstRelativeError(acc, reference)).toBeLessThan(1e-9);
      }
    } finally {
      await job.close();
      transport.close();
    }
    // Closing the job frees the agents for the next one.
    await agentsFree(agents);
    expect(agents.map((a) => a.busyWith)).toEqual([null, null, null]);
  }, 60_000);
});

describe('faults in the middle of a direct move', () => {
  it.each([
    [0, 'throw', 'the vacated sender'],
    [0, 'exit', 'the vacated sender'],
    [1, 'throw', 'a receiver'],
    [2, 'exit', 'a receiver'],
  ] as const)(
    'worker %i %s (%s): every exemplar counted exactly once afterwards',
    async (faulty, kind, _who) => {
      const data = randomColumns(3000, 4, 5);
      const hosts = await discoverAgents(agents.map(endpointOf), {});
      const transport = agentTransport(hosts, {});
      const job = await AdmJob.start({
        ...jobOptions(
          data,
          [1, 1, 1],
          onAgents(transport, {
            // Move 1 is the initial load; move 2 is the vacate's direct move.
            injectFaults: new Map([[faulty, { kind, when: 'during-transfer', count: 2 }]]),
          }),
        ),
        // a0 starts with 2/3 of the rows, so both receivers take some of them whatever one
        // pass measured (an evacuation gives nothing to a receiver above the common level).
        hosts: hosts.map((h, i) => ({ name: h.name, speed: i === 0 ? 4 : 1 })),
      });
      const ids = Array.from({ length: data.count }, (_, i) => i);
      try {
        const reference = await job.pass(new Float64Array(1));
        expect(reference[0]).toBe(data.count);
        job.send({ type: 'vacate', host: 'a0' });
        const after = await job.pass(new Float64Array(1));
        expect([after[0], after[1], after[2]]).toEqual([reference[0], reference[1], reference[2]]);
        // A vacated sender's thread fails while giving up rows that already reached their
        // receivers (they stream from the agent's mirror): its reply, after the move, comes
        // in before the pass ends (AdmJob.pass waits for it), and with it the fault.
        expect(job.faults().map((f) => f.host)).toEqual([`a${faulty}`]);
        const held = (await job.heldIds()).flatMap((h) => [...h]).sort((x, y) => x - y);
        expect(held).toEqual(ids);
        expect(job.counts()[0]).toBe(0);
      } finally {
        await job.close();
        transport.close();
      }
      await agentsFree(agents);
    },
    60_000,
  );
});

describe('a direct move that cannot go directly', () => {
  /**
   * A two-agent job whose coordinator reaches a1 through `forward` (a0 also dials that
   * address for its direct move): vacate a0, and check that every id is counted once and
   * held once, a0 ends empty, and no worker was given up on.
   */
  async function vacateThroughForward(
    forward: Forward,
    data: ExemplarColumns,
    livenessMs?: number,
  ): Promise<{ coordinatorBytes: number }> {
    const hosts = await discoverAgents(agents.slice(0, 2).map(endpointOf), {});
    const viaForward = [hosts[0], { ...hosts[1], endpoint: forward.endpoint }];
    const transport = agentTransport(viaForward, {});
    const job = await AdmJob.start({
      ...jobOptions(data, [1, 1], onAgents(transport, { livenessMs })),
      hosts: viaForward.map((h) => ({ name: h.name, speed: 1 })),
    });
    try {
      const before = await job.pass(new Float64Array(1));
      const receivedBefore = transport.bytesReceived();
      job.send({ type: 'vacate', host: 'a0' });
      const after = await job.pass(new Float64Array(1));
      const coordinatorBytes = transport.bytesReceived() - receivedBefore;
      expect([after[0], after[1], after[2]]).toEqual([before[0], before[1], before[2]]);
      expect(job.counts()).toEqual([0, data.count]);
      const held = (await job.heldIds()).flatMap((ids) => [...ids]).sort((x, y) => x - y);
      expect(held).toEqual(Array.from({ length: data.count }, (_, i) => i));
      expect(job.faults()).toEqual([]);
      return { coordinatorBytes };
    } finally {
      await job.close();
      transport.close();
      forward.close();
    }
    await agentsFree(agents);
  }

  it('a receiver the sender cannot reach (a forwarded port): the rows go through the coordinator, the vacated host ends empty', async () => {
    // The forward passes the coordinator's job and worker connections and refuses a0's.
    await vacateThroughForward(
      await startForward(agents[1].address, { whole: 2 }),
      randomColumns(3000, 4, 11),
    );
  }, 60_000);

  it('a connection reset in the middle of a direct move: nothing lost or doubled, the vacated host ends empty', async () => {
    // a0's peer connection is reset after 500 kB of the 2.6 MB it carries.
    const forward = await startForward(agents[1].address, { whole: 2, resetAfterBytes: 500_000 });
    await vacateThroughForward(forward, randomColumns(20_000, 64, 13));
    expect(forward.resets()).toBe(1);
  }, 60_000);

  it('a slow link: a move whose messages take longer than the liveness limit each still goes directly, as long as bytes flow', async () => {
    // a0's 5.3 MB half goes as messages of up to 4 ~1 MB batches over a 2 MB/s link: ~2 s
    // a message, against a liveness limit of 1 s (each batch may take that long).
    const forward = await startForward(agents[1].address, { whole: 2, bytesPerSecond: 2e6 });
    const started = performance.now();
    const { coordinatorBytes } = await vacateThroughForward(forward, randomColumns(40_000, 64, 17), 1000);
    // Directly: the rows did not come through the coordinator, and took the link's time.
    expect(coordinatorBytes).toBeLessThan(100_000);
    expect(performance.now() - started).toBeGreaterThan(2000);
  }, 60_000);

  it('two senders to one receiver over slow links: the second, kept waiting past the liveness limit, still goes directly', async () => {
    // a2 is reached through a forward that passes the coordinator's two connections whole and
    // each peer connection at 2 MB/s. a0 and a1 are vacated at once: both send their ~2.5 MB
    // to a2, whose worker takes one move at a time; the second sender waits more than the
    // 1 s liveness limit for it, and is told meanwhile that a2 is there.
    const forward = await startForward(agents[2].address, { whole: 2, bytesPerSecond: 2e6 });
    const hosts = await discoverAgents(agents.map(endpointOf), {});
    const viaForward = [hosts[0], hosts[1], { ...hosts[2], endpoint: forward.endpoint }];
    const transport = agentTransport(viaForward, {});
    const data = randomColumns(28_200, 64, 21);
    const job = await AdmJob.start({
      ...jobOptions(data, [1, 1, 1], onAgents(transport, { livenessMs: 1000 })),
      hosts: viaForward.map((h) => ({ name: h.name, speed: 1 })),
    });
    try {
      const before = await job.pass(new Float64Array(1));
      const receivedBefore = transport.bytesReceived();
      // Both while a pass computes: the workers stop, and one redistribution applies both.
      const during = job.pass(new Float64Array(1));
      job.send({ type: 'vacate', host: 'a0' });
      job.send({ type: 'vacate', host: 'a1' });
      const after = await during;
      expect([after[0], after[1], after[2]]).toEqual([before[0], before[1], before[2]]);
      expect(job.counts()).toEqual([0, 0, data.count]);
      const moves = job.redistributions();
      expect(moves).toHaveLength(1);
      expect(moves[0].transfers).toBe(2);
      expect(job.faults()).toEqual([]);
      // Both parts went directly: not through the coordinator (5 MB if one had).
      expect(transport.bytesReceived() - receivedBefore).toBeLessThan(100_000);
    } finally {
      await job.close();
      transport.close();
      forward.close();
    }
    await agentsFree(agents);
  }, 60_000);

  it('a host whose share is 0 starts and computes nothing', async () => {
    const hosts = await discoverAgents(agents.slice(0, 2).map(endpointOf), {});
    const transport = agentTransport(hosts, {});
    const data = randomColumns(100, 4, 12);
    const job = await AdmJob.start({
      ...jobOptions(data, [1, 0.001], onAgents(transport)),
      hosts: hosts.map((h, i) => ({ name: h.name, speed: [1, 0.001][i] })),
    });
    try {
      expect(job.counts()).toEqual([100, 0]);
      expect((await job.pass(new Float64Array(1)))[0]).toBe(100);
    } finally {
      await job.close();
      transport.close();
    }
    await agentsFree(agents);
  });
});

describe('agents with --max-memory', () => {
  it('no host is given more than its cap, at the start or after a vacate; a job that cannot fit is refused in one line', async () => {
    // 3000 exemplars of 4 features: 25 bytes each. c0 may hold 400 of them (10,000 bytes).
    const capped = await Promise.all([
      Agent.start({ host: '127.0.0.1', port: 0, name: 'c0', maxMemory: 10_000 }),
      Agent.start({ host: '127.0.0.1', port: 0, name: 'c1' }),
      Agent.start({ host: '127.0.0.1', port: 0, name: 'c2', maxMemory: 100_000 }),
    ]);
    try {
      const data = randomColumns(3000, 4, 9);
      const hosts = await discoverAgents(capped.map(endpointOf), {});
      expect(hosts.map((h) => h.maxBytes)).toEqual([10_000, undefined, 100_000]);
      const transport = agentTransport(hosts, {});
      const job = await AdmJob.start({
        ...jobOptions(data, [1, 1, 1], onAgents(transport)),
        hosts: hosts.map((h) => ({ name: h.name, speed: 1, maxBytes: h.maxBytes })),
      });
      try {
        expect(job.counts()).toEqual([400, 1300, 1300]);
        job.send({ type: 'vacate', host: 'c1' });
        const acc = await job.pass(new Float64Array(1));
        expect(acc[0]).toBe(3000);
        // c0 is full: all of c1's 1300 go to c2 (which may hold 4000).
        expect(job.counts()).toEqual([400, 0, 2600]);
        const held = (await job.heldIds()).map((ids) => ids.length);
        expect(held).toEqual([400, 0, 2600]);
      } finally {
        await job.close();
        transport.close();
      }
      // c0 alone cannot hold the 3000: refused before any data moves, in one line.
      const alone = agentTransport([hosts[0]], {});
      await expect(
        AdmJob.start({
          ...jobOptions(data, [1], { emulateSpeeds: false, soloRate: 1e6, transport: alone }),
          hosts: [{ name: 'c0', speed: 1, maxBytes: 10_000 }],
        }),
      ).rejects.toThrow(
        /^the 3000 training exemplars do not fit: the hosts' memory caps allow 400; raise --max-memory on the agents, or add hosts$/,
      );
      alone.close();
    } finally {
      await Promise.all(capped.map((a) => a.close()));
    }
  }, 60_000);
});

describe('what is not an agent', () => {
  it('a server that accepts and says nothing: asked whether an agent listens there, not told of secrets', async () => {
    const silent = createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      const port = (silent.address() as AddressInfo).port;
      const error = await discoverAgents([{ endpoint: { host: '127.0.0.1', port } }], {
        connectMs: 300,
      }).catch((e: unknown) => e as Error);
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).message).toBe(
        `127.0.0.1:${port} accepted the connection but gave no admove answer within 300 ms: is an admove agent listening there (and running, not stopped)?`,
      );
    } finally {
      silent.close();
    }
  });
});

describe('what an agent refuses', () => {
  async function hello(agent: Agent, header: Record<string, unknown>): Promise<MessageChannel> {
    const channel = new MessageChannel(await connect(agent.address));
    await channel.send({ type: 'hello', ...header });
    return channel;
  }

  it('a job connection that breaks the protocol right behind its hello: the agent is free again at once', async () => {
    // One write: a job's hello, then a header announcing a body (bodies come only after the
    // welcome), so the agent's side closes before it has even answered.
    const frame = (value: unknown) => {
      const json = Buffer.from(JSON.stringify(value));
      const head = Buffer.alloc(5);
      head[0] = 0x4a; // 'J': a JSON frame
      head.writeUInt32BE(json.length, 1);
      return Buffer.concat([head, json]);
    };
    const socket = createConnection(agents[0].address.port, agents[0].address.host);
    await once(socket, 'connect');
    socket.write(
      Buffer.concat([
        frame({ type: 'hello', version: ADMOVE_VERSION, role: 'job', job: 'wedge', bodies: 0 }),
        frame({ type: 'x', bodies: 1 }),
      ]),
    );
    await once(socket, 'close');
    // It serves the next job: before, it stayed "busy with job wedge" until restarted.
    await agentsFree(agents);
    expect(agents[0].busyWith).toBeNull();
    const hosts = await discoverAgents([endpointOf(agents[0])], {});
    const transport = agentTransport(hosts, {});
    const job = await AdmJob.start({
      ...jobOptions(randomColumns(100, 4, 3), [1], onAgents(transport)),
      hosts: hosts.map((h) => ({ name: h.name, speed: 1 })),
    });
    try {
      expect((await job.pass(new Float64Array(1)))[0]).toBe(100);
    } finally {
      await job.close();
      transport.close();
    }
    await agentsFree(agents);
  });

  it('a coordinator of another version, naming both versions', async () => {
    const channel = await hello(agents[0], { version: '0.0.0-other', role: 'job', job: 'x' });
    const reply = (await channel.next()).header;
    expect(reply.type).toBe('refused');
    expect(reply.reason).toBe(
      `admove version mismatch: agent a0 runs ${ADMOVE_VERSION}, the coordinator 0.0.0-other; install the same version on both`,
    );
    expect(agents[0].busyWith).toBeNull();
  });

  it('a dismissal, unless the agent was started to serve one job (admove slurm) and serves none yet', async () => {
    await expect(dismissAgent(agents[0].address, 'no job today', {})).rejects.toThrow(
      /refused: agent a0 serves any coordinator: it cannot be dismissed/,
    );
    const reasons: string[] = [];
    const one = await Agent.start({
      host: '127.0.0.1',
      port: 0,
      name: 'once',
      onDismissed: (r) => reasons.push(r),
    });
    try {
      await dismissAgent(one.address, 'task 0 failed:\nbad flag', {});
      expect(reasons).toEqual(['task 0 failed: bad flag']); // one line
      // Dismissed, it takes no job any more.
      const channel = new MessageChannel(await connect(one.address));
      await channel.send({ type: 'hello', version: ADMOVE_VERSION, role: 'job', job: 'late' });
      expect((await channel.next()).header).toMatchObject({
        type: 'refused',
        reason: 'agent once was told no job will come; it is ending',
      });
    } finally {
      await one.close();
    }
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

  it('a coordinator that falls silent: the agent ends its job after the liveness limit and is free again', async () => {
    const control = await hello(agents[2], { version: ADMOVE_VERSION, role: 'job', job: 'silent' });
    expect((await control.next()).header.type).toBe('welcome');
    await control.send({
      type: 'setup',
      kernel: 'admove:apps/opt/model/kernel',
      kernelConfig: {},
      livenessMs: 400,
    });
    expect((await control.next()).header.type).toBe('ready');
    expect(agents[2].busyWith).toBe('silent');
    // No heartbeat from here on, but the connection stays open.
    for (let i = 0; i < 100 && agents[2].busyWith !== null; i++) await new Promise((r) => setTimeout(r, 20));
    expect(agents[2].busyWith).toBeNull();
    expect(logs.join('\n')).toMatch(/a2: job silent ended \(the coordinator was silent for 400 ms\)/);
  });

  it('a worker connection for a job the agent does not serve', async () => {
    const channel = await hello(agents[2], { version: ADMOVE_VERSION, role: 'worker', job: 'nope', slot: 0 });
    expect((await channel.next()).header).toMatchObject({
      type: 'refused',
      reason: 'agent a2 serves no job nope',
    });
  });
});
