import type { BenchOutput } from './result.ts';

/** What the runner gives a benchmark. */
export interface BenchContext {
  /** Tiny sizes, a few seconds: for tests, so the code cannot rot. Not a measurement. */
  readonly quick: boolean;
  /** Progress line on stderr. */
  log(message: string): void;
}

/** One benchmark: `npm run bench -- <name>`. */
export interface Benchmark {
  readonly name: string;
  readonly title: string;
  /** Rough full-mode duration, for the plan printed at the start (seconds). */
  readonly estimatedSeconds: number;
  run(ctx: BenchContext): Promise<BenchOutput>;
}
