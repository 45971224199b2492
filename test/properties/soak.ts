/**
 * Soak mode of the AdmJob properties: the same generators, driver and invariants as
 * `adm-job.properties.test.ts`, for many more sequences.
 *
 *   tsx test/properties/soak.ts [--runs 100000] [--seed S] [--strict]
 *
 * Runs batches of 1,000 sequences (fast-check seed S + batch index). Known coordinator bugs
 * (see README.md) end a sequence without failing the soak and are counted; `--strict` fails on
 * them too. On the first failure it prints the counterexample (replay it with
 * `tsx test/properties/replay.ts '<json>'`) and exits with status 1.
 */
import { parseArgs } from 'node:util';
import fc from 'fast-check';
import { scenarioArb } from './arbitraries.ts';
import { ALL_KNOWN_BUGS, onUnhandledRejection, runScenario, warmUp } from './driver.ts';
import { Tally } from './tally.ts';

const USAGE = 'usage: tsx test/properties/soak.ts [--runs 100000] [--seed S] [--strict]';

function options(): { runs: number; seed: number; strict: boolean } {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '100000' },
      seed: { type: 'string', default: String(Date.now() % 2 ** 31) },
      strict: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const runs = Number(values.runs);
  const seed = Number(values.seed);
  if (!Number.isSafeInteger(runs) || runs < 1) throw new Error(`--runs needs a positive integer\n${USAGE}`);
  if (!Number.isSafeInteger(seed) || seed < 0)
    throw new Error(`--seed needs a non-negative integer\n${USAGE}`);
  return { runs, seed, strict: values.strict };
}

async function main(): Promise<number> {
  const { runs, seed, strict } = options();
  await warmUp();
  process.on('unhandledRejection', onUnhandledRejection);
  const tolerate = strict ? new Set<never>() : ALL_KNOWN_BUGS;
  const tally = new Tally();
  const batch = 1000;
  const started = performance.now();
  console.log(`AdmJob soak: ${runs} sequences, seed ${seed}${strict ? ', strict' : ''}`);
  for (let b = 0; tally.runs < runs; b++) {
    const numRuns = Math.min(batch, runs - tally.runs);
    const batchSeed = seed + b;
    const result = await fc.check(
      fc.asyncProperty(scenarioArb(), async (s) => {
        tally.add(await runScenario(s, { tolerate }));
      }),
      { numRuns, seed: batchSeed },
    );
    if (result.failed) {
      console.error(`\nFAILED in batch ${b} (seed ${batchSeed}) after ${tally.runs} sequences`);
      console.error(fc.defaultReportMessage(result));
      return 1;
    }
    const s = ((performance.now() - started) / 1000).toFixed(1);
    console.log(
      `[${tally.runs}/${runs}] ${s}s ok — batch seed ${batchSeed}; ${tally.sums.passes} passes, ` +
        `${tally.sums.moves} moves, known bugs hit in ${tally.reached.knownBugs} sequences`,
    );
  }
  console.log(`\n${tally}`);
  const missing = tally.missing();
  if (missing.length > 0) console.log(`cases never reached: ${missing.join(', ')}`);
  console.log(
    `AdmJob soak passed: ${tally.runs} sequences in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(2);
  },
);
