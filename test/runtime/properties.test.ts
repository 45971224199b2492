import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdmJob } from '../../framework/runtime/adm-job.ts';
import { eventArb } from '../fixtures/event-arbitraries.ts';
import {
  applyAvailability,
  checkIdsExactlyOnce,
  expectSameSums,
  inTimeOrder,
  jobOptions,
  randomColumns,
  referenceSums,
} from './helpers.ts';

const N = 6000;
const HOSTS = ['h0', 'h1', 'h2', 'h3'];
const data = randomColumns(N, 3, 99);
const reference = referenceSums(data);
/**
 * Every pass's parameters are its own number, and the kernel adds it to Σid² for every row
 * (`paramsInSums`): a pass settled with another pass's result cannot match.
 */
let passNumber = 0;
function nextPass(): { params: Float64Array; expected: Float64Array } {
  passNumber++;
  const expected = Float64Array.from(reference);
  expected[2] += N * passNumber;
  return { params: Float64Array.of(passNumber), expected };
}

const hostEvent = eventArb(HOSTS, 0.05);
/** Events with the ms (after the pass starts) at which each is sent; several may share a time. */
const sequenceArb = fc.array(fc.tuple(fc.integer({ min: 0, max: 25 }), hostEvent), {
  minLength: 1,
  maxLength: 8,
});

describe('nothing lost, nothing twice — random event sequences against real worker threads', () => {
  let job: AdmJob;
  const available = new Set(HOSTS);
  beforeAll(async () => {
    job = await AdmJob.start(
      jobOptions(data, [1, 1, 2, 4], { kernelConfig: { spin: 800, paramsInSums: true } }),
    );
  });
  afterAll(() => job.close());

  it('after every pass: sums equal the reference, every id is held once, vacated hosts hold nothing', async () => {
    await fc.assert(
      fc.asyncProperty(sequenceArb, async (sequence) => {
        const timed = inTimeOrder(sequence);
        applyAvailability(timed, available);
        // Never leave every host vacated at the end of a sequence: the pass would wait for one.
        if (available.size === 0) {
          timed.push([30, { type: 'available', host: 'h1' }]);
          available.add('h1');
        }
        const first = nextPass();
        const pass = job.pass(first.params);
        const timers = timed.map(([ms, e]) => setTimeout(() => job.send(e), ms));
        const acc = await pass;
        // Events that land after the pass ended: a vacate is handed over at once (between
        // passes), the others are applied at the start of the next pass.
        await new Promise((r) => setTimeout(r, 32));
        timers.forEach(clearTimeout);
        expectSameSums(acc, first.expected);
        const second = nextPass();
        expectSameSums(await job.pass(second.params), second.expected);
        const held = await job.heldIds();
        expect(checkIdsExactlyOnce(held, N)).toBeNull();
        expect(held.map((h) => h.length)).toEqual([...job.counts()]);
        HOSTS.forEach((h, i) => {
          if (!available.has(h)) expect(job.counts()[i]).toBe(0);
        });
      }),
      { numRuns: 120 },
    );
    // Load and availability events may still wait for their quiet moment (≥ 100 ms, or 4× the
    // last redistribution, after the last one): give them that, and one more pass applies them.
    await new Promise((r) => setTimeout(r, 1000));
    const last = nextPass();
    expectSameSums(await job.pass(last.params), last.expected);
    const outcomes = job.events().map((e) => e.outcome?.status);
    expect(outcomes).not.toContain(undefined);
    expect(job.redistributions().length).toBeGreaterThan(20);
  }, 240_000);
});
