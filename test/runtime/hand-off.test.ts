import { afterEach, describe, expect, it } from 'vitest';
import { copyIntoBatches, exemplarBytes } from '../../framework/exemplars/rows.ts';
import { AdmJob } from '../../framework/runtime/adm-job.ts';
import { WorkerFault } from '../../framework/runtime/faults.ts';
import { ThreadWorker } from '../../framework/runtime/thread-worker.ts';
import type { WorkerSpec } from '../../framework/runtime/worker-link.ts';
import { ID_SUM_KERNEL } from '../fixtures/id-sum-kernel.ts';
import {
  checkIdsExactlyOnce,
  computingWatch,
  expectSameSums,
  jobOptions,
  randomColumns,
  referenceSums,
} from './helpers.ts';

const N = 3000;
const data = randomColumns(N, 3, 5);
const reference = referenceSums(data);
const params = new Float64Array(1);

/** The pass machine's states entered from `at` on (the job's clock), in order. */
const passStatesSince = (job: AdmJob, at: number): string[] =>
  job
    .stateTransitions()
    .filter((t) => t.actor === 'pass' && t.at >= at)
    .map((t) => t.state);

const spec = (index: number, extra: Partial<WorkerSpec> = {}): WorkerSpec => ({
  index,
  host: `h${index}`,
  kernelModule: ID_SUM_KERNEL,
  kernelConfig: { spin: 2000 },
  livenessMs: 3000,
  ...extra,
});

describe('ThreadWorker.handOff: rows from thread to thread, nobody stopped', () => {
  let workers: ThreadWorker[] = [];
  afterEach(async () => {
    await Promise.all(workers.map((w) => w.close()));
    workers = [];
  });

  it('moves rows between idle threads: each id once, counts reported, all of them still to count', async () => {
    workers = await Promise.all([0, 1, 2].map((i) => ThreadWorker.start(spec(i))));
    const [w0, w1, w2] = workers;
    await w0.insert(copyIntoBatches(data, 0, 2000));
    await w1.insert(copyIntoBatches(data, 2000, N));
    const result = await w0.handOff([
      { count: 700, to: w1 },
      { count: 300, to: w2 },
    ]);
    expect(result?.takenAgoMs).toBeLessThanOrEqual(result?.handedAgoMs ?? Number.NEGATIVE_INFINITY);
    expect(result).toMatchObject({ held: 1000, receivers: [1700, 300], bytes: 1000 * exemplarBytes(3) });
    // Fresh rows taken in by idle workers: none counted yet.
    expect(result?.uncounted).toBe(1000);
    expect(result?.failure).toBeNull();
    const held = await Promise.all(workers.map((w) => w.ids()));
    expect(held.map((h) => h.length)).toEqual([1000, 1700, 300]);
    expect(checkIdsExactlyOnce(held, N)).toBeNull();
    // A second hand-off reuses the channels, the other way round.
    await w1.handOff([{ count: 1700, to: w0 }]);
    expect((await Promise.all(workers.map((w) => w.ids()))).map((h) => h.length)).toEqual([2700, 0, 300]);
  }, 30_000);

  it('rows taken in during a pass are counted by that pass, exactly once', async () => {
    // ~200 ms of w0's share: its pass is surely still running when the rows come (at spin 2000,
    // ~12 ms, and at spin 8000, ~50 ms, it was sometimes done first on a loaded machine, where
    // w1 waited that long for a core: the rows were then left to count).
    workers = await Promise.all(
      [0, 1].map((i) => ThreadWorker.start(spec(i, { kernelConfig: { spin: 32000 } }))),
    );
    const [w0, w1] = workers;
    await w0.insert(copyIntoBatches(data, 0, 1500));
    await w1.insert(copyIntoBatches(data, 1500, N));
    // Both compute; w1 gives everything to w0 as soon as it can, with some rows counted already.
    const p0 = w0.pass(params, true, 16, true);
    const p1 = w1.pass(params, true, 16, true);
    // Once w1 has counted some rows (a fixed 5 ms was sometimes too short on a loaded machine).
    for (let t = 0; w1.chunksDone() === 0 && t < 5000; t++) await new Promise((r) => setTimeout(r, 1));
    const result = await w1.handOff([{ count: 1500, to: w0 }]);
    const [r0, r1] = await Promise.all([p0, p1]);
    expect(result?.uncounted).toBe(0);
    expect(r1.held).toBe(0);
    expect(r0.held).toBe(N);
    expect(r0.processed + r1.processed).toBe(N);
    const acc = r0.acc.map((v, i) => v + r1.acc[i]);
    expectSameSums(acc, reference);
    expect(r1.processed).toBeGreaterThan(0);
    expect(r1.processed).toBeLessThan(1500);
  }, 30_000);

  it('an order that reaches a thread before its fresh pass starts waits for it: no row travels with the last pass flags', async () => {
    workers = await Promise.all(
      [0, 1].map((i) => ThreadWorker.start(spec(i, { kernelConfig: { spin: 0 } }))),
    );
    const [w0, w1] = workers;
    await w0.insert(copyIntoBatches(data, 0, 1500));
    await w1.insert(copyIntoBatches(data, 1500, N));
    for (let round = 0; round < 20; round++) {
      const [from, to] = round % 2 === 0 ? [w0, w1] : [w1, w0];
      // The last pass flagged every row; the next one is requested and, at once, a hand-off.
      await Promise.all([from.pass(params, true, 64, true), to.pass(params, true, 64, true)]);
      // The sender is busy, so the pass request waits in piscina's queue while the order is
      // already in the thread's mail when it is done.
      const busy = from.calibrate(params, 10);
      const pf = from.pass(params, true, 64, true);
      const pt = to.pass(params, true, 64, true);
      const handed = from.handOff([{ count: 1500, to }]);
      const [rf, rt, result] = await Promise.all([pf, pt, handed, busy]);
      // Counted in this pass, or still to count (a receiver whose share was done): never lost.
      expect(rf.processed + rt.processed + (result?.uncounted ?? 0)).toBe(N);
      expect(result?.failure).toBeNull();
      // Put the rows back for the next round.
      await to.handOff([{ count: 1500, to: from }]);
    }
  }, 60_000);

  it('a hand-off of more rows than held is refused, and nothing moves', async () => {
    workers = await Promise.all([0, 1].map((i) => ThreadWorker.start(spec(i))));
    const [w0, w1] = workers;
    await w0.insert(copyIntoBatches(data, 0, 100));
    const refused = (await w0.handOff([{ count: 101, to: w1 }]))?.failure;
    expect(refused).toBeInstanceOf(Error);
    expect(refused).not.toBeInstanceOf(WorkerFault);
    expect(String(refused)).toMatch(
      /hand-off refused by worker 0 \(h0\): hand-off of 101 exemplars from 100 held/,
    );
    expect(w0.alive && w1.alive).toBe(true);
    expect((await w0.ids()).length).toBe(100);
    expect((await w1.ids()).length).toBe(0);
  }, 30_000);

  it('a receiver that fails taking the rows in fails the hand-off with its fault', async () => {
    workers = [
      await ThreadWorker.start(spec(0)),
      await ThreadWorker.start(spec(1, { fault: { kind: 'throw', when: 'during-transfer', count: 1 } })),
    ];
    const [w0, w1] = workers;
    await w0.insert(copyIntoBatches(data, 0, 100));
    const result = await w0.handOff([{ count: 60, to: w1 }]);
    const error = result?.failure;
    expect(error).toBeInstanceOf(WorkerFault);
    // What was reported before the failure comes with it: w0 gave the rows, w1 never said.
    expect(result).toMatchObject({ held: 40, receivers: [-1] });
    expect((error as WorkerFault).host).toBe('h1');
    expect(w1.alive).toBe(false);
    // The rows left w0 (they were lost with w1: the job's recovery reloads them by id).
    expect((await w0.ids()).length).toBe(40);
    // A hand-off to a worker given up on is not possible at all.
    expect(w0.handOff([{ count: 10, to: w1 }])).toBeNull();
  }, 30_000);
});

describe('AdmJob: a vacate handed over while computing', () => {
  it('rows that reach a worker whose share of the pass is done are counted in that pass all the same', async () => {
    // Half each, but h0 computes 8× faster: it is idle when h1 is vacated late in the pass,
    // so h1's rows arrive between h0's requests and the pass needs another slice for them.
    const watch = computingWatch();
    const job = await AdmJob.start(
      jobOptions(data, [1, 1], {
        emulatedSpeeds: [8, 1],
        kernelConfig: { spin: 2000 },
        soloRate: 20_000,
        rebalance: false,
        onTransition: watch.onTransition,
      }),
    );
    try {
      await job.pass(params);
      const computing = watch.next();
      const pass = job.pass(params);
      await computing;
      // h1's half takes ~0.4 s and h0's ~0.05 s at the emulated rates: h0 is done by now.
      await new Promise((r) => setTimeout(r, 150));
      job.send({ type: 'vacate', host: 'h1' });
      expectSameSums(await pass, reference);
      const record = job.redistributions().at(-1)!;
      expect(record.whileComputing).toBe(true);
      expect(record.exemplarsMoved).toBe(N / 2);
      expect(job.counts()).toEqual([N, 0]);
      const held = await job.heldIds();
      expect(checkIdsExactlyOnce(held, N)).toBeNull();
      // The rows came after h0's slice was over: a second slice counted the ones h1 had not.
      const after = job
        .stateTransitions()
        .filter((t) => t.at >= record.triggeredAt)
        .map((t) => `${t.actor} ${t.state}`);
      expect(after).toContain('pass {"computing":"handingOff"}');
      expect(after).toContain('pass redistributing');
      expectSameSums(await job.pass(params), reference);
    } finally {
      await job.close();
    }
  }, 30_000);
});

describe('AdmJob: a vacate between passes', () => {
  it('that no hand-off can apply moves the data at once all the same, before the next pass', async () => {
    const job = await AdmJob.start(
      jobOptions(data, [1, 1, 2], {
        kernelConfig: { spin: 200 },
        rebalance: false,
        handOffWhileComputing: false,
      }),
    );
    try {
      expectSameSums(await job.pass(params), reference);
      const sentAt = performance.now();
      const vacate = job.send({ type: 'vacate', host: 'h2', deadlineMs: 5000 });
      // Nothing asks for a pass: the move must not wait for one.
      for (let t = 0; t < 3000 && job.counts()[2] > 0; t++) await new Promise((r) => setTimeout(r, 1));
      expect(job.counts()[2]).toBe(0);
      const record = job.redistributions().find((r) => r.events.includes(vacate.seq))!;
      expect(record).toMatchObject({ reason: 'evacuate', exemplarsMoved: N / 2 });
      expect(record.betweenPasses).toBeUndefined();
      // Its migration ended when the rows were in, not when the app asks for the next pass.
      expect(record.migrationMs).not.toBeNull();
      expect(record.migrationMs!).toBeLessThanOrEqual(performance.now() - sentAt);
      expect(record.deadlines[0]).toMatchObject({ host: 'h2', met: true });
      expect(checkIdsExactlyOnce(await job.heldIds(), N)).toBeNull();
      const states = passStatesSince(job, record.triggeredAt);
      expect(states.slice(0, 2)).toEqual(['{"idle":"redistributing"}', '{"idle":"quiet"}']);
      expectSameSums(await job.pass(params), reference);
    } finally {
      await job.close();
    }
  }, 30_000);

  it('moves the rows at once, before the next pass, which counts every row exactly once', async () => {
    const job = await AdmJob.start(
      jobOptions(data, [1, 1, 2], { kernelConfig: { spin: 200 }, rebalance: false }),
    );
    try {
      expectSameSums(await job.pass(params), reference);
      // Between passes (the app at work), h2 is vacated; the next pass is asked for at once,
      // so it arrives while the rows are on their way and must wait for them.
      job.send({ type: 'vacate', host: 'h2' });
      const record = job.redistributions().at(-1);
      expectSameSums(await job.pass(params), reference);
      const handed = job.redistributions().at(-1)!;
      expect(handed).not.toBe(record);
      expect(handed).toMatchObject({ betweenPasses: true, reason: 'evacuate', exemplarsMoved: N / 2 });
      expect(handed.whileComputing).toBeUndefined();
      expect(handed.obtrusivenessMs).toBeGreaterThanOrEqual(0);
      expect(job.counts()[2]).toBe(0);
      expect(checkIdsExactlyOnce(await job.heldIds(), N)).toBeNull();
      // The pass machine went through the hand-off before the pass began.
      const states = passStatesSince(job, handed.triggeredAt);
      expect(states.slice(0, 2)).toEqual(['{"idle":"handingOff"}', '{"computing":"running"}']);
      expectSameSums(await job.pass(params), reference);
    } finally {
      await job.close();
    }
  }, 30_000);

  it('a receiver that fails taking the rows in: they are reloaded before the next pass, exactly once', async () => {
    const job = await AdmJob.start(
      jobOptions(data, [1, 1, 2], {
        kernelConfig: { spin: 200 },
        rebalance: false,
        // Its move 1 is the initial load; move 2 is taking in the vacated rows.
        injectFaults: new Map([[0, { kind: 'throw', when: 'during-transfer', count: 2 }]]),
      }),
    );
    try {
      expectSameSums(await job.pass(params), reference);
      job.send({ type: 'vacate', host: 'h2' });
      // Recovered between passes: no pass is waiting, and nothing is missing afterwards.
      for (let t = 0; t < 3000 && job.faults().length === 0; t++) await new Promise((r) => setTimeout(r, 1));
      await new Promise((r) => setTimeout(r, 50));
      expect(job.faults().map((f) => f.host)).toEqual(['h0']);
      expect(checkIdsExactlyOnce(await job.heldIds(), N)).toBeNull();
      expect(job.counts()[0] + job.counts()[2]).toBe(0);
      const states = passStatesSince(job, 0);
      expect(states).toContain('{"idle":"recovering"}');
      expectSameSums(await job.pass(params), reference);
    } finally {
      await job.close();
    }
  }, 30_000);
});

describe('AdmJob.retire: a vacated host leaves the job for good', () => {
  it('refuses a host still in use, then refuses every later event for the retired one; no fault', async () => {
    const job = await AdmJob.start(
      jobOptions(data, [1, 1, 1], { kernelConfig: { spin: 50 }, rebalance: false }),
    );
    try {
      expectSameSums(await job.pass(params), reference);
      expect(() => job.retire(['h1'])).toThrow('host h1 is not vacated; vacate it first');
      expect(() => job.retire(['h7'])).toThrow('the job has no host h7');
      job.send({ type: 'vacate', host: 'h1' });
      for (let t = 0; t < 3000 && job.counts()[1] > 0; t++) await new Promise((r) => setTimeout(r, 1));
      expect(job.counts()[1]).toBe(0);
      // All or none: h0 is still in use, so h1 does not leave either.
      expect(() => job.retire(['h1', 'h0'])).toThrow('host h0 is not vacated; vacate it first');
      expect(job.send({ type: 'load', host: 'h1', fraction: 0.5 }).outcome?.status).not.toBe('rejected');
      job.retire(['h1']);
      expect(() => job.retire(['h1'])).toThrow('host h1 was released already');
      // Found by a hostile test: a released agent's host could be made available again, took
      // rows, and its closed worker then counted as a fault.
      const back = job.send({ type: 'available', host: 'h1' });
      expect(back.outcome).toMatchObject({
        status: 'rejected',
        reason: expect.stringMatching(/^host h1 was released/),
      });
      expectSameSums(await job.pass(params), reference);
      expect(job.counts()[1]).toBe(0);
      expect(job.faults()).toEqual([]);
      expect(checkIdsExactlyOnce(await job.heldIds(), N)).toBeNull();
    } finally {
      await job.close();
    }
  }, 30_000);
});
