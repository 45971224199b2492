import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scenarioArb } from './arbitraries.ts';
import { ALL_KNOWN_BUGS, type KnownBug, runScenario, warmUp, watchRejections } from './driver.ts';
import { Tally } from './tally.ts';

const SEED = Number(process.env.FC_SEED ?? 20261124);
const RUNS = Number(process.env.FC_RUNS ?? 1500);
/** Known coordinator bugs end a sequence without failing it (STRICT=1: they fail it). */
const TOLERATE: ReadonlySet<KnownBug> = process.env.STRICT ? new Set() : ALL_KNOWN_BUGS;

describe('the real AdmJob on in-process workers and a virtual clock', () => {
  const tally = new Tally();
  const rejections = watchRejections();
  beforeAll(async () => {
    await warmUp();
    rejections.install();
  });
  afterAll(() => {
    rejections.remove();
    console.info(`AdmJob properties: ${tally}`);
  });

  it('random scripts of events, faults and slow replies between any two chunks', async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb(), async (s) => {
        tally.add(await runScenario(s, { tolerate: TOLERATE }));
      }),
      { numRuns: RUNS, seed: SEED },
    );
    expect(tally.missing()).toEqual([]);
    // About 30 s alone on 2 cores; more beside the real-thread suites in a full `npm test`.
  }, 240_000);
});
