import type { ExemplarColumns } from '../../framework/exemplars/columns.ts';
import type { ExtractReply, PassReply } from '../../framework/runtime/messages.ts';
import { threadTransport } from '../../framework/runtime/thread-worker.ts';
import type { WorkerLink, WorkerSpec, WorkerTransport } from '../../framework/runtime/worker-link.ts';

type Kind = 'insert' | 'extract' | 'pass' | 'ids' | 'drop';

/** One scripted disturbance: the `nth` call (from 1) of `kind` on `worker`. */
export interface ScriptedCall {
  readonly worker: number;
  readonly kind: Kind;
  readonly nth: number;
  /** Hold the worker's reply this long before the coordinator sees it. */
  readonly delayMs?: number;
  /** The call is carried out on the worker, but the coordinator gets this error instead of the reply. */
  readonly replyLost?: Error;
  /** Runs when the call is made (before it reaches the worker). */
  readonly onCall?: () => void;
}

/**
 * Real thread workers whose replies a test can hold back or lose on the coordinator's side,
 * to make races happen on purpose: the workers themselves run as usual.
 */
export function scriptedTransport(script: readonly ScriptedCall[]): WorkerTransport {
  return {
    name: 'scripted threads',
    async start(spec: WorkerSpec) {
      return new ScriptedLink(await threadTransport.start(spec), script);
    },
  };
}

class ScriptedLink implements WorkerLink {
  private readonly calls = new Map<Kind, number>();

  constructor(
    private readonly inner: WorkerLink,
    private readonly script: readonly ScriptedCall[],
  ) {}

  get index(): number {
    return this.inner.index;
  }
  get host(): string {
    return this.inner.host;
  }
  get alive(): boolean {
    return this.inner.alive;
  }
  get fault() {
    return this.inner.fault;
  }

  private async scripted<T>(kind: Kind, call: () => Promise<T>): Promise<T> {
    const nth = (this.calls.get(kind) ?? 0) + 1;
    this.calls.set(kind, nth);
    const step = this.script.find((s) => s.worker === this.index && s.kind === kind && s.nth === nth);
    step?.onCall?.();
    const reply = await call();
    if (step?.delayMs) await new Promise((r) => setTimeout(r, step.delayMs));
    if (step?.replyLost) throw step.replyLost;
    return reply;
  }

  insert(fragments: readonly ExemplarColumns[]): Promise<number> {
    return this.scripted('insert', () => this.inner.insert(fragments));
  }
  extract(counts: readonly number[]): Promise<ExtractReply> {
    return this.scripted('extract', () => this.inner.extract(counts));
  }
  pass(params: Float64Array, fresh: boolean, chunkRows: number, checkStop: boolean): Promise<PassReply> {
    return this.scripted('pass', () => this.inner.pass(params, fresh, chunkRows, checkStop));
  }
  calibrate(params: Float64Array, ms: number): Promise<number> {
    return this.inner.calibrate(params, ms);
  }
  ids(): Promise<Int32Array> {
    return this.scripted('ids', () => this.inner.ids());
  }
  drop(): Promise<{ ids: Int32Array; processed: Uint8Array }> {
    return this.scripted('drop', () => this.inner.drop());
  }
  stop(): void {
    this.inner.stop();
  }
  setRateLimit(rate: number): void {
    this.inner.setRateLimit(rate);
  }
  chunksDone(): number {
    return this.inner.chunksDone();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}
