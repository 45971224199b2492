/**
 * Soak mode of the ADM protocol properties (issue 5, part 1): the same model and invariants as
 * `adm-protocol.test.ts`, for many more sequences.
 *
 *   tsx test/properties/soak.ts [--runs 100000] [--seed N] [--strict]
 *
 * Runs batches of 1,000 sequences (seed N + batch index): mostly random sequences, one batch in
 * five "down to one host, none, one returns", and one in twenty with the real pass machine (xstate)
 * checked against the synchronous mirror. Prints progress; on the first failure prints the
 * counterexample with its seed and path (replay them with fast-check) and exits with status 1.
 * `--strict` also fails on the known bug 1 (the pass machine waiting with an event pending).
 */
import fc from 'fast-check';
import { AdmModel, type ModelOptions } from './adm-model.ts';
import { drainToNoneArb, scenarioArb } from './arbitraries.ts';

const USAGE = 'usage: tsx test/properties/soak.ts [--runs 100000] [--seed N] [--strict]';

function parseArgs(argv: readonly string[]): { runs: number; seed: number; strict: boolean } {
  let runs = 100_000;
  let seed = Date.now() % 2 ** 31;
  let strict = false;
  for (let k = 0; k < argv.length; k++) {
    const flag = argv[k];
    if (flag === '--strict') {
      strict = true;
      continue;
    }
    if (flag === '--help' || flag === '-h') {
      console.log(USAGE);
      process.exit(0);
    }
    if (flag !== '--runs' && flag !== '--seed') throw new Error(`unknown flag ${flag}\n${USAGE}`);
    const value = Number(argv[++k]);
    if (!Number.isSafeInteger(value) || value < (flag === '--runs' ? 1 : 0)) {
      throw new Error(`${flag} needs a ${flag === '--runs' ? 'positive' : 'non-negative'} integer\n${USAGE}`);
    }
    if (flag === '--runs') runs = value;
    else seed = value;
  }
  return { runs, seed, strict };
}

async function main(): Promise<number> {
  const { runs, seed, strict } = parseArgs(process.argv.slice(2));
  const options: ModelOptions = { strictWaiting: strict };
  const batch = 1000;
  const started = performance.now();
  let done = 0;
  let knownBug1 = 0;
  let moves = 0;
  let passes = 0;
  console.log(`ADM soak: ${runs} sequences, seed ${seed}${strict ? ', strict' : ''}`);
  for (let b = 0; done < runs; b++) {
    const numRuns = Math.min(batch, runs - done);
    const batchSeed = seed + b;
    const kind = b % 20 === 19 ? 'machine' : b % 5 === 4 ? 'drain' : 'random';
    const note = (s: ReturnType<AdmModel['run']>) => {
      if (s.waitedWithEventPending > 0) knownBug1++;
      moves += s.moves;
      passes += s.passes;
    };
    const result =
      kind === 'machine'
        ? await fc.check(
            fc.asyncProperty(scenarioArb({ maxSteps: 16 }), async (s) => {
              const mirror = new AdmModel(s, options).run();
              const real = await new AdmModel(s, options).runWithMachine();
              if (JSON.stringify(real) !== JSON.stringify(mirror)) {
                throw new Error(
                  `real pass machine ${JSON.stringify(real)} ≠ mirror ${JSON.stringify(mirror)}`,
                );
              }
              note(real);
            }),
            { numRuns, seed: batchSeed },
          )
        : fc.check(
            fc.property(kind === 'drain' ? drainToNoneArb() : scenarioArb(), (s) => {
              note(new AdmModel(s, options).run());
            }),
            { numRuns, seed: batchSeed },
          );
    if (result.failed) {
      console.error(
        `\nFAILED in batch ${b} (${kind}, seed ${batchSeed}) after ${done + result.numRuns} sequences`,
      );
      console.error(fc.defaultReportMessage(result));
      return 1;
    }
    done += numRuns;
    const s = ((performance.now() - started) / 1000).toFixed(1);
    console.log(
      `[${done}/${runs}] ${((100 * done) / runs).toFixed(0)}% ${s}s ok — ${kind} batch seed ${batchSeed}; ` +
        `${passes} passes, ${moves} moves; known bug 1 hit in ${knownBug1} sequences`,
    );
  }
  console.log(`ADM soak passed: ${done} sequences in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(2);
  },
);
