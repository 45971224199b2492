import { Piscina } from 'piscina';
import { transferListOf } from '../exemplars/batch.ts';
import type { ExemplarColumns } from '../exemplars/columns.ts';
import type { WorkerControl } from './control.ts';
import { type FaultPlan, WorkerFault } from './faults.ts';
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
  /** Set once the worker is given up on; every later call fails with it at once. */
  private dead: WorkerFault | null = null;

  private constructor(
    readonly index: number,
    readonly host: string,
    private readonly control: WorkerControl,
    private readonly livenessMs: number,
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
    fault?: FaultPlan;
    livenessMs?: number;
  }): Promise<ThreadWorker> {
    const w = new ThreadWorker(options.index, options.host, options.control, options.livenessMs ?? 3000);
    await w.run(
      {
        kind: 'init',
        worker: options.index,
        host: options.host,
        kernelModule: options.kernelModule,
        kernelConfig: options.kernelConfig,
        control: options.control.buffer,
        workers: options.control.workers,
        fault: options.fault,
      },
      undefined,
      // Starting a thread loads tsx and the kernel: allow for a slow, loaded machine.
      30_000,
    );
    return w;
  }

  get alive(): boolean {
    return this.dead === null;
  }

  get fault(): WorkerFault | null {
    return this.dead;
  }

  /**
   * One request, watched: a rejection is a fault (the thread threw, or exited — piscina would
   * quietly replace an exited thread with a fresh, empty one, which must not pass for this
   * worker, so the pool is destroyed); no heartbeat (chunks counted in shared memory) for
   * `livenessMs` means the worker hung, and its thread is terminated.
   */
  private run<T>(
    request: WorkerRequest,
    transferList?: ArrayBuffer[],
    limitMs = this.livenessMs,
  ): Promise<T> {
    if (this.dead) return Promise.reject(this.dead);
    const task = this.pool.run(request, transferList ? { transferList } : undefined) as Promise<T>;
    return new Promise<T>((resolve, reject) => {
      let beat = this.control.chunksDone(this.index);
      let beatAt = performance.now();
      const fail = (fault: WorkerFault) => {
        clearInterval(watch);
        this.giveUp(fault);
        reject(fault);
      };
      const watch = setInterval(
        () => {
          const now = this.control.chunksDone(this.index);
          if (now !== beat) {
            beat = now;
            beatAt = performance.now();
          } else if (performance.now() - beatAt > limitMs) {
            fail(
              new WorkerFault(
                this.index,
                this.host,
                'hung',
                request.kind,
                `no sign of life for ${limitMs} ms`,
              ),
            );
          }
        },
        Math.max(10, Math.min(250, limitMs / 4)),
      );
      task.then(
        (value) => {
          clearInterval(watch);
          if (this.dead) reject(this.dead);
          else resolve(value);
        },
        (error: unknown) => {
          const message = error instanceof Error ? error.message : String(error);
          const exited = /exit/i.test(message) && !/injected fault: throw/.test(message);
          fail(new WorkerFault(this.index, this.host, exited ? 'exited' : 'threw', request.kind, message));
        },
      );
    });
  }

  private giveUp(fault: WorkerFault): void {
    if (this.dead) return;
    this.dead = fault;
    this.pool.destroy().catch(() => {});
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

  drop(): Promise<{ ids: Int32Array; processed: Uint8Array }> {
    return this.run({ kind: 'drop' });
  }

  async ids(): Promise<Int32Array> {
    return (await this.run<{ ids: Int32Array }>({ kind: 'ids' })).ids;
  }

  async close(): Promise<void> {
    if (this.dead) return;
    this.dead = new WorkerFault(this.index, this.host, 'exited', 'close', 'closed');
    await this.pool.destroy();
  }
}
