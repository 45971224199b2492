/**
 * A job that mixes local worker threads with a worker on an agent (`--hosts` with
 * `--workers`): a vacated thread cannot hand its rows to the agent's worker the way threads
 * hand rows to each other, so they move the usual way. Before, the plan only asked whether
 * the sender could hand off, and a vacate of a local thread ended the job with "the workers
 * cannot hand rows to each other". Real threads, a real agent on loopback.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent } from '../../framework/agent/agent.ts';
import type { SchedulerEvent } from '../../framework/events/types.ts';
import { exemplarBytes } from '../../framework/exemplars/rows.ts';
import { agentTransport, discoverAgents } from '../../framework/net/agent-transport.ts';
import { AdmJob } from '../../framework/runtime/adm-job.ts';
import type { JobOptions } from '../../framework/runtime/job-types.ts';
import {
  applyAvailability,
  checkIdsExactlyOnce,
  computingWatch,
  expectSameSums,
  inTimeOrder,
  jobOptions,
  randomColumns,
  referenceSums,
} from '../runtime/helpers.ts';

const N = 3000;
const data = randomColumns(N, 6, 43);
const reference = referenceSums(data);
const params = new Float64Array(1);

let agent: Agent;
beforeAll(async () => {
  agent = await Agent.start({ host: '127.0.0.1', port: 0, name: 'a2' });
}, 60_000);
afterAll(() => agent.close());

async function mixedJob(
  onTransition?: JobOptions['onTransition'],
  paramsInSums = false,
  /** Caps h1 at its initial share, so a vacate of h0 sends every row to the agent's worker. */
  h1Full = false,
) {
  const remote = await discoverAgents([{ endpoint: agent.address }], {});
  const transport = agentTransport(remote, {});
  const job = await AdmJob.start({
    ...jobOptions(data, [1, 1, 1], {
      kernelConfig: { spin: 2000, paramsInSums },
      emulateSpeeds: false,
      soloRate: 1e5,
      transport,
      onTransition,
    }),
    hosts: [
      { name: 'h0', speed: 1 },
      { name: 'h1', speed: 1, ...(h1Full ? { maxBytes: (N / 3) * exemplarBytes(6) } : {}) },
      { name: 'a2', speed: 1 },
    ],
  });
  return { job, transport };
}

describe('a job of local threads and an agent', () => {
  it('moves a vacated thread’s rows between passes and during one, nothing lost or twice', async () => {
    const watch = computingWatch();
    const { job, transport } = await mixedJob(watch.onTransition, false, true);
    try {
      expectSameSums(await job.pass(params), reference);
      expect([...job.counts()]).toEqual([N / 3, N / 3, N / 3]);
      // Between passes: h0's rows go to the agent's worker (h1 is full).
      job.send({ type: 'vacate', host: 'h0' });
      expectSameSums(await job.pass(params), reference);
      expect([...job.counts()]).toEqual([0, N / 3, (2 * N) / 3]);
      // During a pass: h1's rows go to the agent's worker.
      const computing = watch.next();
      const pass = job.pass(params);
      await computing;
      job.send({ type: 'vacate', host: 'h1' });
      expectSameSums(await pass, reference);
      expect([...job.counts()]).toEqual([0, 0, N]);
      expect(checkIdsExactlyOnce(await job.heldIds(), N)).toBeNull();
      expect(job.redistributions().filter((r) => r.reason === 'evacuate')).toHaveLength(2);
      expect(job.faults()).toEqual([]);
    } finally {
      await job.close();
      transport.close();
    }
  }, 60_000);
});

const HOSTS = ['h0', 'h1', 'a2'];
const eventArb: fc.Arbitrary<SchedulerEvent> = fc.oneof(
  fc.record({ type: fc.constant('vacate' as const), host: fc.constantFrom(...HOSTS) }),
  fc.record({ type: fc.constant('available' as const), host: fc.constantFrom(...HOSTS) }),
  fc.record({
    type: fc.constant('load' as const),
    host: fc.constantFrom(...HOSTS),
    fraction: fc.double({ min: 0.1, max: 1, noNaN: true }),
  }),
);

describe('random event sequences against a job of local threads and an agent', () => {
  it('after every pass: its own sums, every id held once, vacated hosts hold nothing', async () => {
    const { job, transport } = await mixedJob(undefined, true);
    const available = new Set(HOSTS);
    // Every pass's parameters are its number, added to Σid² for each row (paramsInSums): a
    // pass settled with another's result cannot match.
    let passNumber = 0;
    const pass = async () => {
      passNumber++;
      const expected = Float64Array.from(reference);
      expected[2] += N * passNumber;
      const result = job.pass(Float64Array.of(passNumber));
      return { result, expected };
    };
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.tuple(fc.integer({ min: 0, max: 20 }), eventArb), { minLength: 1, maxLength: 5 }),
          async (events) => {
            const timed = inTimeOrder(events);
            applyAvailability(timed, available);
            if (available.size === 0) {
              timed.push([25, { type: 'available', host: 'h1' }]);
              available.add('h1');
            }
            const first = await pass();
            const timers = timed.map(([ms, e]) => setTimeout(() => job.send(e), ms));
            expectSameSums(await first.result, first.expected);
            await new Promise((r) => setTimeout(r, 30));
            timers.forEach(clearTimeout);
            const second = await pass();
            expectSameSums(await second.result, second.expected);
            const held = await job.heldIds();
            expect(checkIdsExactlyOnce(held, N)).toBeNull();
            expect(held.map((h) => h.length)).toEqual([...job.counts()]);
            HOSTS.forEach((h, i) => {
              if (!available.has(h)) expect(job.counts()[i]).toBe(0);
            });
          },
        ),
        { numRuns: 40 },
      );
      expect(job.faults()).toEqual([]);
      // Rows moved in these sequences (vacates of threads and of the agent alike).
      expect(job.redistributions().filter((r) => r.bytesMoved > 0).length).toBeGreaterThan(5);
    } finally {
      await job.close();
      transport.close();
    }
  }, 120_000);
});
