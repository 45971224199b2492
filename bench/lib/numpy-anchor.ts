/**
 * The real anchor for Opt's kernel: the same pass (784-32-10, softmax cross-entropy, summed
 * error and gradient) over the same rows and weights in numpy + BLAS on one thread
 * (bench/numpy-anchor.py), timed in the same run, single passes alternating with admove's.
 */
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { NetworkShape } from '../../apps/opt/model/index.ts';
import type { ExemplarColumns } from '../../framework/index.ts';

const SCRIPT = fileURLToPath(new URL('../numpy-anchor.py', import.meta.url));

/** What the python process reports once it has loaded the inputs. */
export interface NumpyInfo {
  readonly numpy: string;
  readonly python: string;
  readonly blas: Record<string, unknown>;
}

/** Its result after the last pass. */
export interface NumpyResult {
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

/**
 * One python process for the whole comparison, holding the rows and weights: `pass()` runs
 * one timed pass there and resolves to its milliseconds (python's own clock), so the caller
 * can alternate single passes of admove and numpy.
 */
export class NumpyAnchor {
  private readonly dir = mkdtempSync(join(tmpdir(), 'admove-numpy-'));
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly lines: AsyncIterator<string>;
  private stderr = '';

  constructor(shape: NetworkShape, rows: ExemplarColumns, weights: Float64Array) {
    const { inputs, hidden, outputs } = shape;
    const n = rows.count;
    writeFileSync(join(this.dir, 'meta.json'), JSON.stringify({ n, inputs, hidden, outputs }));
    const bytes = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    writeFileSync(join(this.dir, 'features.f32'), bytes(rows.features.subarray(0, n * inputs)));
    writeFileSync(join(this.dir, 'labels.i32'), bytes(rows.labels.subarray(0, n)));
    writeFileSync(join(this.dir, 'weights.f64'), bytes(weights));
    this.child = spawn('python3', [SCRIPT, this.dir], { env: pinnedEnv() });
    this.child.stderr.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString();
    });
    this.lines = createInterface({ input: this.child.stdout })[Symbol.asyncIterator]();
  }

  private async reply(): Promise<Record<string, unknown>> {
    const next = await this.lines.next();
    if (next.done) throw new Error(`bench/numpy-anchor.py ended early: ${this.stderr.trim() || 'no output'}`);
    return JSON.parse(next.value) as Record<string, unknown>;
  }

  /** After the warm-up pass: numpy's version and BLAS. */
  async ready(): Promise<NumpyInfo> {
    return (await this.reply()) as unknown as NumpyInfo;
  }

  /** One timed pass over all rows, in milliseconds. */
  async pass(): Promise<number> {
    this.child.stdin.write('pass\n');
    return Number((await this.reply()).ms);
  }

  /** The error and gradient of the last pass; the process exits. */
  async finish(): Promise<NumpyResult> {
    this.child.stdin.write('done\n');
    const error = Number((await this.reply()).error);
    const raw = readFileSync(join(this.dir, 'gradient.f64'));
    const gradient = new Float64Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
    return { error, gradient };
  }

  close(): void {
    this.child.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
