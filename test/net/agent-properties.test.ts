/**
 * Nothing lost, nothing twice over TCP: random sequences of vacate, available and load
 * events, sent at random moments during and between passes, to one job on three agents (in
 * this process, as in agent-protocol.test.ts: real sockets, real worker threads; rows move
 * agent to agent). After every sequence: each pass's gradient, for that pass's own weights,
 * equals the single-thread one to 1e-9 and counts every exemplar once; the agents hold every
 * id exactly once; the coordinator's counts are theirs; a vacated host holds nothing.
 * (test/runtime/properties.test.ts does the same on threads, test/properties/ with faults on
 * a virtual clock.)
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOptKernel } from '../../apps/opt/model/kernel.ts';
import { initWeights, type NetworkShape } from '../../apps/opt/model/network.ts';
import { Agent } from '../../framework/agent/agent.ts';
import type { SchedulerEvent } from '../../framework/events/types.ts';
import { columnsFromTable } from '../../framework/exemplars/batch.ts';
import { type AgentTransport, agentTransport, discoverAgents } from '../../framework/net/agent-transport.ts';
import { AdmJob } from '../../framework/runtime/adm-job.ts';
import { SeededRandom } from '../../framework/util/random.ts';
import { checkIdsExactlyOnce, jobOptions, randomColumns, worstRelativeError } from '../runtime/helpers.ts';

const OPT_KERNEL = new URL('../../apps/opt/model/kernel.ts', import.meta.url).href;
const N = 4000;
const DIM = 12;
const SHAPE: NetworkShape = { inputs: DIM, hidden: 8, outputs: 3, loss: 'xent' };
const HOSTS = ['a0', 'a1', 'a2'];
const data = randomColumns(N, DIM, 41);
const allRows = columnsFromTable(data.features, data.labels, DIM);
const kernel = createOptKernel(SHAPE);

/** The gradient of all N rows in one thread, for `weights`: what every pass must add up to. */
function referenceFor(weights: Float64Array): Float64Array {
  const acc = new Float64Array(kernel.accumulatorLength(weights, DIM));
  kernel.accumulate(allRows, 0, N, weights, acc);
  return acc;
}

function expectThePass(acc: Float64Array, weights: Float64Array): void {
  expect(acc[1]).toBe(N);
  expect(worstRelativeError(acc, referenceFor(weights))).toBeLessThan(1e-9);
}

const eventArb: fc.Arbitrary<SchedulerEvent> = fc.oneof(
  fc.record({ type: fc.constant('vacate' as const), host: fc.constantFrom(...HOSTS) }),
  fc.record({ type: fc.constant('available' as const), host: fc.constantFrom(...HOSTS) }),
  fc.record({
    type: fc.constant('load' as const),
    host: fc.constantFrom(...HOSTS),
    fraction: fc.double({ min: 0.1, max: 1, noNaN: true }),
  }),
);
/** Events with the ms after the pass starts at which each is sent (a pass takes a few ms). */
const sequenceArb = fc.record({
  events: fc.array(fc.tuple(fc.integer({ min: 0, max: 30 }), eventArb), { minLength: 1, maxLength: 6 }),
  weightsSeed: fc.integer({ min: 1, max: 1_000_000 }),
});

describe('nothing lost, nothing twice — random event sequences against a job on three agents', () => {
  let agents: Agent[] = [];
  let transport: AgentTransport;
  let job: AdmJob;
  const available = new Set(HOSTS);
  beforeAll(async () => {
    agents = await Promise.all(HOSTS.map((name) => Agent.start({ host: '127.0.0.1', port: 0, name })));
    const hosts = await discoverAgents(
      agents.map((a) => ({ endpoint: a.address })),
      {},
    );
    transport = agentTransport(hosts, {});
    job = await AdmJob.start({
      ...jobOptions(data, [1, 1, 1], {
        kernelModule: OPT_KERNEL,
        kernelConfig: SHAPE,
        calibrationParams: initWeights(SHAPE, new SeededRandom(1)),
        emulateSpeeds: false,
        soloRate: 1e6,
        transport,
      }),
      hosts: hosts.map((h) => ({ name: h.name, speed: 1 })),
    });
  }, 60_000);
  afterAll(async () => {
    await job?.close();
    transport?.close();
    await Promise.all(agents.map((a) => a.close()));
  });

  it('after every pass: its own gradient to 1e-9, every id held once, vacated hosts hold nothing', async () => {
    await fc.assert(
      fc.asyncProperty(sequenceArb, async ({ events, weightsSeed }) => {
        // Sent in time order (ties in array order), so the model applies them in that order too.
        const timed = events
          .map((t, i) => [t, i] as const)
          .sort((a, b) => a[0][0] - b[0][0] || a[1] - b[1])
          .map(([t]) => t);
        for (const [, e] of timed) {
          if (e.type === 'vacate') available.delete(e.host);
          if (e.type === 'available') available.add(e.host);
        }
        // Never leave every host vacated: the next pass would wait for one.
        if (available.size === 0) {
          timed.push([35, { type: 'available', host: 'a1' }]);
          available.add('a1');
        }
        const rng = new SeededRandom(weightsSeed);
        const first = initWeights(SHAPE, rng);
        const pass = job.pass(first);
        const timers = timed.map(([ms, e]) => setTimeout(() => job.send(e), ms));
        expectThePass(await pass, first);
        // Events that land after the pass: a vacate moves at once (between passes), the others
        // are applied at the start of the next pass.
        await new Promise((r) => setTimeout(r, 40));
        timers.forEach(clearTimeout);
        const second = initWeights(SHAPE, rng);
        expectThePass(await job.pass(second), second);
        const held = await job.heldIds();
        expect(checkIdsExactlyOnce(held, N)).toBeNull();
        expect(held.map((h) => h.length)).toEqual([...job.counts()]);
        HOSTS.forEach((h, i) => {
          if (!available.has(h)) expect(job.counts()[i]).toBe(0);
        });
      }),
      { numRuns: 150, seed: 20261202 },
    );
    // Load and availability events may still wait for their quiet moment (≥ 100 ms, or 4× the
    // last redistribution): give them that, and one more pass applies them.
    await new Promise((r) => setTimeout(r, 1000));
    const last = initWeights(SHAPE, new SeededRandom(99));
    expectThePass(await job.pass(last), last);
    expect(job.events().map((e) => e.outcome?.status)).not.toContain(undefined);
    expect(job.redistributions().filter((r) => r.bytesMoved > 0).length).toBeGreaterThan(10);
    expect(job.faults()).toEqual([]);
    const moves = job.redistributions().filter((r) => r.bytesMoved > 0);
    console.info(
      `agent properties: ${moves.length} moves (${moves.filter((r) => r.reason === 'evacuate').length} evacuations, ${job.stateTransitions().filter((t) => t.state === '{"idle":"redistributing"}').length} between passes, ${job.stateTransitions().filter((t) => t.state === '{"computing":"migrationPending"}').length} stopping a pass), ${job.events().length} events`,
    );
  }, 240_000);
});
