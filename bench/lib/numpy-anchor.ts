/**
 * The real anchor for Opt's kernel: the same pass (784-32-10, softmax cross-entropy, summed
 * error and gradient) over the same rows and weights in numpy + BLAS on one thread
 * (bench/numpy-anchor.py), timed in the same run, rounds alternating with admove's kernel.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NetworkShape } from '../../apps/opt/model/index.ts';
import type { ExemplarColumns } from '../../framework/index.ts';

const SCRIPT = fileURLToPath(new URL('../numpy-anchor.py', import.meta.url));

export interface NumpyPass {
  readonly numpy: string;
  readonly python: string;
  readonly blas: Record<string, unknown>;
  readonly timesMs: number[];
  readonly medianMs: number;
  readonly exemplarsPerSecond: number;
  readonly error: number;
  /** The summed gradient, admove's accumulator without its first two entries. */
  readonly gradient: Float64Array;
}

/**
 * The environment for python: one BLAS thread, and OpenBLAS left to pick its own kernel for
 * this CPU (this machine's environment sets OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE, which
 * would pin an older one): unset for this command only.
 */
function pinnedEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  for (const v of ['OPENBLAS_NUM_THREADS', 'OMP_NUM_THREADS', 'MKL_NUM_THREADS', 'VECLIB_MAXIMUM_THREADS']) {
    env[v] = '1';
  }
  return env;
}

/** Why the anchor cannot run here (one line), or null when python3 imports numpy. */
export function numpyMissing(): string | null {
  const probe = spawnSync('python3', ['-c', 'import numpy'], { encoding: 'utf8', env: pinnedEnv() });
  if (probe.error) return `python3 not found (${probe.error.message})`;
  if (probe.status !== 0) return 'python3 has no numpy';
  return null;
}

/** The rows and weights in a folder the script reads, for `runs` calls of `numpyPass`. */
export class NumpyAnchor {
  private readonly dir = mkdtempSync(join(tmpdir(), 'admove-numpy-'));

  constructor(
    shape: NetworkShape,
    rows: ExemplarColumns,
    weights: Float64Array,
    private readonly repeats: number,
  ) {
    const { inputs, hidden, outputs } = shape;
    const n = rows.count;
    writeFileSync(join(this.dir, 'meta.json'), JSON.stringify({ n, inputs, hidden, outputs, repeats }));
    const bytes = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    writeFileSync(join(this.dir, 'features.f32'), bytes(rows.features.subarray(0, n * inputs)));
    writeFileSync(join(this.dir, 'labels.i32'), bytes(rows.labels.subarray(0, n)));
    writeFileSync(join(this.dir, 'weights.f64'), bytes(weights));
  }

  /** One python process: a warm-up pass, then `repeats` timed passes. */
  pass(): NumpyPass {
    const run = spawnSync('python3', [SCRIPT, this.dir], { encoding: 'utf8', env: pinnedEnv() });
    if (run.status !== 0) throw new Error(`bench/numpy-anchor.py failed: ${run.stderr || run.error}`);
    const out = JSON.parse(run.stdout) as Omit<NumpyPass, 'gradient'>;
    const raw = readFileSync(join(this.dir, 'gradient.f64'));
    const gradient = new Float64Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
    return { ...out, gradient };
  }

  close(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
