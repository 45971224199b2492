export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Milliseconds `fn` takes, once. */
export async function timeMs(fn: () => unknown): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

/** Repeat `fn` until `minMs` have passed (and at least `minRuns` times): ms per call, median of runs. */
export function perCallMs(fn: () => void, minMs: number, minRuns = 5): number[] {
  const runs: number[] = [];
  const start = performance.now();
  while (runs.length < minRuns || performance.now() - start < minMs) {
    const t = performance.now();
    fn();
    runs.push(performance.now() - t);
    if (runs.length > 100_000) break;
  }
  return runs;
}
