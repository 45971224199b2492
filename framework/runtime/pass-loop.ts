import type { PassKernel } from '../app/kernel.ts';
import type { ExemplarColumns } from '../exemplars/columns.ts';
import type { ExemplarStore } from '../exemplars/store.ts';
import type { WorkerControl } from './control.ts';
import { KERNEL_ERROR_TAG } from './faults.ts';

export interface PassProgress {
  /** Exemplars counted by this call. */
  readonly processed: number;
  /** True when it stopped early because a stop was requested. */
  readonly interrupted: boolean;
  /** Wall time of this call, throttling included: what the host's speed looks like from outside. */
  readonly elapsedMs: number;
}

/**
 * The inner loop of a worker: count every exemplar not yet processed in this pass,
 * chunk by chunk, checking the shared stop flag before each chunk. Rows already
 * flagged (counted here or by a previous holder before they moved) are skipped, so
 * each exemplar is counted exactly once per pass whatever moved in the middle of it.
 */
export function runPassLoop(
  store: ExemplarStore,
  kernel: PassKernel,
  params: Float64Array,
  acc: Float64Array,
  control: WorkerControl,
  chunkRows: number,
  checkStop: boolean,
  /** Called after each chunk (fault injection); undefined in normal runs. */
  onChunk?: () => void,
  /**
   * Rows handed over mid-pass (threads): `check()` at each chunk boundary reads any mail and
   * says whether rows left or arrived; the loop then starts over on the store as it is now
   * (rows already counted are skipped by their flags), and ends only when no rows came in.
   */
  mail?: { check(): boolean },
): PassProgress {
  const start = performance.now();
  let processed = 0;
  beginPass(kernel, params, acc);
  try {
    scan: for (;;) {
      for (const cols of store.columns()) {
        for (let s = 0; s < cols.count; s += chunkRows) {
          if (checkStop && control.stopRequested()) {
            return { processed, interrupted: true, elapsedMs: performance.now() - start };
          }
          if (mail?.check()) continue scan;
          processed += countChunk(cols, s, Math.min(s + chunkRows, cols.count), kernel, params, acc);
          control.chunkDone();
          onChunk?.();
          const rate = control.rateLimit();
          if (rate > 0) {
            // Emulated host speed: never run ahead of `rate` exemplars a second.
            const ahead = (processed / rate) * 1000 - (performance.now() - start);
            if (ahead > 0.05) control.idle(ahead);
          }
        }
      }
      if (!mail?.check()) break;
    }
    return { processed, interrupted: false, elapsedMs: performance.now() - start };
  } finally {
    endPass(kernel, acc);
  }
}

/** `kernel.beginPass`, if it has one; its failure is the kernel's. */
export function beginPass(kernel: PassKernel, params: Float64Array, acc: Float64Array): void {
  try {
    kernel.beginPass?.(params, acc);
  } catch (error) {
    throw kernelFailure(error);
  }
}

/** `kernel.endPass`, if it has one: `acc` then holds every row counted. */
export function endPass(kernel: PassKernel, acc: Float64Array): void {
  try {
    kernel.endPass?.(acc);
  } catch (error) {
    throw kernelFailure(error);
  }
}

/**
 * One chunk, rows [start, end) of `cols`: the kernel over every run of rows not yet counted
 * in this pass, which are then flagged. Returns how many it counted. Every transport's pass
 * loop calls this, so each counts exactly the same way.
 */
export function countChunk(
  cols: ExemplarColumns,
  start: number,
  end: number,
  kernel: PassKernel,
  params: Float64Array,
  acc: Float64Array,
): number {
  const flags = cols.processed;
  let counted = 0;
  let i = start;
  while (i < end) {
    if (flags[i] !== 0) {
      i++;
      continue;
    }
    let j = i + 1;
    while (j < end && flags[j] === 0) j++;
    try {
      kernel.accumulate(cols, i, j, params, acc);
    } catch (error) {
      throw kernelFailure(error);
    }
    flags.fill(1, i, j);
    counted += j - i;
    i = j;
  }
  return counted;
}

/** The kernel threw: tag it so the coordinator tells an app bug from a failing worker. */
export function kernelFailure(error: unknown): Error {
  const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return new Error(KERNEL_ERROR_TAG + detail);
}
