/**
 * A transport of in-process workers (`InProcessWorker`): workers in this process, on a
 * virtual clock, watched by an observer from outside the coordinator.
 */
import type { KernelModule } from '../app/kernel.ts';
import type { ExemplarColumns } from '../exemplars/columns.ts';
import type { RequestKind } from './in-process-request-loop.ts';
import { InProcessWorker } from './in-process-worker.ts';
import type { VirtualTime } from './virtual-time.ts';
import type { WorkerLink, WorkerSpec, WorkerTransport } from './worker-link.ts';

/** Watches a transport's workers from outside the coordinator (tests, simulation reports). */
export interface InProcessObserver {
  /**
   * The coordinator called `kind` on `worker` (at the call, not when it is served, even if the
   * worker is dead and the call fails at once); `fragments`
   * are what an insert carries. What it returns is handed back with `removed`.
   */
  request?(worker: InProcessWorker, kind: RequestKind, fragments: readonly ExemplarColumns[] | null): unknown;
  /** Rows left `worker`'s store (an extract: the fragments handed back; a drop). */
  removed?(
    worker: InProcessWorker,
    kind: RequestKind,
    ids: Int32Array,
    fragments: readonly ExemplarColumns[],
    tag: unknown,
  ): void;
  /** A worker failed for a reason nobody injected (a bug, e.g. asked for more rows than it holds). */
  unexpected?(worker: InProcessWorker, error: unknown): void;
  /** A reply came after the worker was given up on (and was ignored). */
  lateReply?(worker: InProcessWorker, kind: RequestKind): void;
}

export interface InProcessOptions {
  readonly time: VirtualTime;
  /** Exemplars/s of worker `index` when no rate limit is set (default 10,000). */
  readonly baseRate?: (index: number) => number;
  /** Bytes a move copies per virtual ms (default 100,000: 100 MB/s). */
  readonly copyBytesPerMs?: number;
  readonly observer?: InProcessObserver;
}

/** In-process workers on `options.time`; `workers[i]` is the one started for host index i. */
export class InProcessTransport implements WorkerTransport {
  readonly name = 'in-process';
  readonly workers: InProcessWorker[] = [];

  constructor(private readonly options: InProcessOptions) {}

  async start(spec: WorkerSpec): Promise<WorkerLink> {
    const mod = await loadKernelModule(spec.kernelModule);
    const w = new InProcessWorker(spec, mod.createKernel(spec.kernelConfig), this.options);
    this.workers[spec.index] = w;
    return w;
  }
}

const kernelModules = new Map<string, Promise<KernelModule>>();

/**
 * The kernel module, imported once per process: later starts get an already settled
 * promise, so starting a worker takes no real I/O (call it before a virtual run to warm it).
 */
export function loadKernelModule(href: string): Promise<KernelModule> {
  let mod = kernelModules.get(href);
  if (mod === undefined) {
    mod = import(href) as Promise<KernelModule>;
    kernelModules.set(href, mod);
  }
  return mod;
}
