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
import { exemplarBytes } from '../../framework/exemplars/rows.ts';
import { agentTransport, discoverAgents } from '../../framework/net/agent-transport.ts';
import { AdmJob } from '../../framework/runtime/adm-job.ts';
import type { JobOptions } from '../../framework/runtime/job-types.ts';
import { eventArb, faultArb } from '../fixtures/event-arbitraries.ts';
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
import { agentsFree } from './agents-free.ts';

const N = 3000;
const data = randomColumns(N, 6, 43);
const reference = referenceSums(data);
const params = new Float64Array(1);

let agent: Agent;
beforeAll(async () => {
  agent = await Agent.start({ host: '127.0.0.1', port: 0, name: 'a2', acceptFaults: true });
}, 60_000);
afterAll(() => agent.close());

interface MixedJobOptions {
  readonly onTransition?: JobOptions['onTransition'];
  /** Every pass's parameters go into its sums (a pass settled with another's result fails). */
  readonly paramsInSums?: boolean;
  /** Caps h1 at its initial share, so a vacate of h0 sends every row to the agent's worker. */
  readonly h1Full?: boolean;
  readonly extra?: Partial<JobOptions>;
}

/** Threads h0 and h1 and the agent's worker a2, equal speeds, the id-sum kernel. */
async function mixedJob(o: MixedJobOptions = {}) {
  const remote = await discoverAgents([{ endpoint: agent.address }], {});
  const transport = agentTransport(remote, {});
  const job = await AdmJob.start({
    ...jobOptions(data, [1, 1, 1], {
      kernelConfig: { spin: 2000, paramsInSums: o.paramsInSums ?? false },
      emulateSpeeds: false,
      soloRate: 1e5,
      transport,
      onTransition: o.onTransition,
      ...o.extra,
    }),
    hosts: [
      { name: 'h0', speed: 1 },
      { name: 'h1', speed: 1, ...(o.h1Full ? { maxBytes: (N / 3) * exemplarBytes(6) } : {}) },
      { name: 'a2', speed: 1 },
    ],
  });
  return { job, transport };
}

describe('a job of local threads and an agent', () => {
  it('moves a vacated thread’s rows between passes and during one, nothing lost or twice', async () => {
    const watch = computingWatch();
    const { job, transport } = await mixedJob({ onTransition: watch.onTransition, h1Full: true });
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
const hostEvent = eventArb(HOSTS);

describe('random event sequences against a job of local threads and an agent', () => {
  it(
    'after every pass: its own sums, every id held once, vacated hosts hold nothing',
    async () => {
      const { job, transport } = await mixedJob({ paramsInSums: true });
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
            fc.array(fc.tuple(fc.integer({ min: 0, max: 20 }), hostEvent), { minLength: 1, maxLength: 5 }),
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
          {
            numRuns: Number(process.env.MIXED_FC_RUNS ?? 40),
            seed: Number(process.env.MIXED_FC_SEED ?? 20261202),
          },
        );
        expect(job.faults()).toEqual([]);
        // Rows moved in these sequences (vacates of threads and of the agent alike).
        expect(job.redistributions().filter((r) => r.bytesMoved > 0).length).toBeGreaterThan(5);
      } finally {
        await job.close();
        transport.close();
      }
    },
    Math.max(120_000, Number(process.env.MIXED_FC_RUNS ?? 40) * 2_000),
  );
});

describe('the same with a worker fault in each sequence, on a fresh job', () => {
  const runs = Number(process.env.MIXED_FC_RUNS ?? 40) / 4;
  it(
    'every pass that ends has its own sums; every id held once by the live workers; only that fault recorded',
    async () => {
      let fired = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.tuple(fc.integer({ min: 0, max: 20 }), hostEvent), { maxLength: 4 }),
          faultArb(HOSTS.length),
          async (events, fault) => {
            await agentsFree([agent]);
            const { job, transport } = await mixedJob({
              extra: { injectFaults: new Map([[fault.worker, fault.plan]]), waitTimeoutMs: 2000 },
            });
            try {
              const faulty = HOSTS[fault.worker];
              const timed = inTimeOrder(events);
              // A host that does not fail is available at the end, so the job can go on.
              timed.push([25, { type: 'available', host: HOSTS[(fault.worker + 1) % HOSTS.length] }]);
              const available = new Set(HOSTS);
              applyAvailability(timed, available);
              const timers: NodeJS.Timeout[] = [];
              for (let p = 0; p < 4; p++) {
                const pass = job.pass(params);
                if (p === 0) for (const [ms, e] of timed) timers.push(setTimeout(() => job.send(e), ms));
                expectSameSums(await pass, reference);
                if (p === 0) {
                  await new Promise((r) => setTimeout(r, 30));
                  timers.forEach(clearTimeout);
                }
              }
              const recorded = job.faults().map((f) => f.host);
              expect(recorded.every((h) => h === faulty)).toBe(true);
              expect(recorded.length).toBeLessThanOrEqual(1);
              fired += recorded.length;
              const held = await job.heldIds();
              expect(checkIdsExactlyOnce(held, N)).toBeNull();
              expect(held.map((h) => h.length)).toEqual([...job.counts()]);
              HOSTS.forEach((h, i) => {
                if (!available.has(h) || recorded.includes(h)) expect(job.counts()[i]).toBe(0);
              });
            } finally {
              await job.close();
              transport.close();
            }
          },
        ),
        { numRuns: runs, seed: Number(process.env.MIXED_FC_SEED ?? 20261202) + 1 },
      );
      console.info(`mixed-job fault properties: ${fired} of ${runs} sequences had their fault fire`);
      expect(fired).toBeGreaterThanOrEqual(Math.floor(runs / 4));
    },
    Math.max(240_000, runs * 6_000),
  );
});
