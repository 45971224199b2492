/**
 * Faults heard of between requests (`WorkerLink.onIdleFault`) and faults whose rows wait for
 * a host, as a review found them mishandled:
 * - a receiver with no rows yet that fails idle while a move to it is under way was given up
 *   at once, and the move's recovery then could not tell its rows were missing ("admove lost
 *   track of the exemplars"): idle faults now wait until no move is under way;
 * - a fault in a move between passes whose rows had nowhere to go was recorded only if a
 *   later pass gave up waiting: one the app made no further pass after was in no report.
 */
import { expect, it } from 'vitest';
import type { ExemplarColumns } from '../../framework/exemplars/columns.ts';
import { AdmJob } from '../../framework/runtime/adm-job.ts';
import { WorkerFault } from '../../framework/runtime/faults.ts';
import type { ExtractReply, PassReply } from '../../framework/runtime/messages.ts';
import { threadTransport } from '../../framework/runtime/thread-worker.ts';
import type { WorkerLink, WorkerSpec, WorkerTransport } from '../../framework/runtime/worker-link.ts';
import { checkIdsExactlyOnce, expectSameSums, jobOptions, randomColumns, referenceSums } from './helpers.ts';

const params = new Float64Array(1);

const links: KillableLink[] = [];
/** A thread worker the test can fail idle, as an agent's does when its connection drops; its extracts take `extractDelayMs` longer. */
class KillableLink implements WorkerLink {
  dead: WorkerFault | null = null;
  listener: ((f: WorkerFault) => void) | null = null;
  extractDelayMs = 0;
  onExtract: () => void = () => {};
  constructor(private readonly inner: WorkerLink) {}
  get index() {
    return this.inner.index;
  }
  get host() {
    return this.inner.host;
  }
  get alive() {
    return this.dead === null && this.inner.alive;
  }
  get fault() {
    return this.dead ?? this.inner.fault;
  }
  onIdleFault(l: (f: WorkerFault) => void) {
    this.listener = l;
  }
  kill() {
    this.dead = new WorkerFault(this.index, this.host, 'exited', 'idle', 'killed by the test');
    void this.inner.close();
    this.listener?.(this.dead);
  }
  async insert(f: readonly ExemplarColumns[]) {
    if (this.dead) throw this.dead;
    return this.inner.insert(f);
  }
  async extract(c: readonly number[]): Promise<ExtractReply> {
    if (this.dead) throw this.dead;
    this.onExtract();
    const r = await this.inner.extract(c);
    await new Promise((res) => setTimeout(res, this.extractDelayMs));
    return r;
  }
  async pass(p: Float64Array, f: boolean, c: number, s: boolean): Promise<PassReply> {
    if (this.dead) throw this.dead;
    return this.inner.pass(p, f, c, s);
  }
  calibrate(p: Float64Array, ms: number) {
    return this.inner.calibrate(p, ms);
  }
  async ids() {
    if (this.dead) throw this.dead;
    return this.inner.ids();
  }
  async drop() {
    if (this.dead) throw this.dead;
    return this.inner.drop();
  }
  stop() {
    this.inner.stop();
  }
  setRateLimit(r: number) {
    this.inner.setRateLimit(r);
  }
  chunksDone() {
    return this.inner.chunksDone();
  }
  close() {
    return this.inner.close();
  }
}
const transport: WorkerTransport = {
  name: 'killable threads',
  async start(spec: WorkerSpec) {
    const l = new KillableLink(await threadTransport.start(spec));
    links[spec.index] = l;
    return l;
  },
};

it('a joining host that fails idle while the rows meant for it are being extracted: the job goes on, its fault credited with them', async () => {
  const N = 4000;
  const data = randomColumns(N, 2, 5);
  const reference = referenceSums(data);
  const job = await AdmJob.start(
    jobOptions(data, [1, 1], { emulateSpeeds: false, rebalance: false, transport }),
  );
  try {
    expectSameSums(await job.pass(params), reference);
    for (const l of links.slice(0, 2)) {
      l.extractDelayMs = 300;
      l.onExtract = () => setTimeout(() => links[2]?.alive && links[2].kill(), 100);
    }
    await job.addHosts([{ name: 'h2', speed: 2 }]);
    expectSameSums(await job.pass(params), reference);
    expect(checkIdsExactlyOnce(await job.heldIds(), N)).toBeNull();
    expect(job.faults()).toHaveLength(1);
    expect(job.faults()[0].exemplarsReloaded).toBeGreaterThan(0);
  } finally {
    await job.close();
  }
}, 30_000);

for (const deadline of [undefined, 0]) {
  it(`a fault in a move between passes whose rows have nowhere to go (deadline ${deadline}) is in the faults before any later pass`, async () => {
    const N = 3000;
    const data = randomColumns(N, 2, 20);
    const reference = referenceSums(data);
    const job = await AdmJob.start(
      jobOptions(data, [1, 1], {
        emulateSpeeds: false,
        injectFaults: new Map([[1, { kind: 'throw', when: 'during-transfer', count: 2 }]]),
      }),
    );
    try {
      expectSameSums(await job.pass(params), reference);
      job.send(
        deadline === undefined
          ? { type: 'vacate', host: 'h0' }
          : { type: 'vacate', host: 'h0', deadlineMs: 0 },
      );
      await new Promise((r) => setTimeout(r, 1500));
      expect(job.faults().map((f) => `${f.host} ${f.unrecovered === true}`)).toEqual(['h1 true']);
    } finally {
      await job.close();
    }
  }, 30_000);
}
