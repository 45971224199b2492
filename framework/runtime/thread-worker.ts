import { Piscina } from 'piscina';
import { transferListOf } from '../exemplars/batch.ts';
import type { ExemplarColumns } from '../exemplars/columns.ts';
import type { WorkerControl } from './control.ts';
import type { ExtractReply, PassReply, WorkerRequest } from './messages.ts';
import type { WorkerLink } from './worker-link.ts';

const workerFile = new URL('./worker-entry.mjs', import.meta.url).href;

/**
 * A worker that is a thread on this machine: a one-thread piscina pool that is never
 * recycled (it holds state), with atomics disabled so the thread is not parked in
 * Atomics.wait between tasks.
 */
export class ThreadWorker implements WorkerLink {
  private readonly pool: Piscina;

  private constructor(
    readonly index: number,
    readonly host: string,
  ) {
    this.pool = new Piscina({
      filename: workerFile,
      minThreads: 1,
      maxThreads: 1,
      idleTimeout: Number.POSITIVE_INFINITY,
      atomics: 'disabled',
    });
  }

  static async start(options: {
    index: number;
    host: string;
    kernelModule: string;
    kernelConfig: unknown;
    control: WorkerControl;
  }): Promise<ThreadWorker> {
    const w = new ThreadWorker(options.index, options.host);
    await w.run({
      kind: 'init',
      worker: options.index,
      host: options.host,
      kernelModule: options.kernelModule,
      kernelConfig: options.kernelConfig,
      control: options.control.buffer,
      workers: options.control.workers,
    });
    return w;
  }

  private run<T>(request: WorkerRequest, transferList?: ArrayBuffer[]): Promise<T> {
    return this.pool.run(request, transferList ? { transferList } : undefined) as Promise<T>;
  }

  async insert(fragments: readonly ExemplarColumns[]): Promise<number> {
    const reply = await this.run<{ held: number }>(
      { kind: 'insert', fragments },
      fragments.flatMap(transferListOf),
    );
    return reply.held;
  }

  extract(counts: readonly number[]): Promise<ExtractReply> {
    return this.run({ kind: 'extract', counts });
  }

  pass(params: Float64Array, fresh: boolean, chunkRows: number, checkMigration: boolean): Promise<PassReply> {
    return this.run({ kind: 'pass', fresh, params, chunkRows, checkMigration });
  }

  async calibrate(params: Float64Array, ms: number): Promise<number> {
    return (await this.run<{ rate: number }>({ kind: 'calibrate', params, ms })).rate;
  }

  async ids(): Promise<Int32Array> {
    return (await this.run<{ ids: Int32Array }>({ kind: 'ids' })).ids;
  }

  async close(): Promise<void> {
    await this.pool.destroy();
  }
}
