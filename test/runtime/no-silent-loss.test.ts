/**
 * Regression tests for the silent-loss paths of issue 9 (items 6–13, 19, 20): each one
 * fails on the code before its fix. Real threads throughout; `scriptedTransport` only holds
 * back or loses replies on the coordinator's side to make a race happen on purpose.
 */
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { JobInterrupted, RunFailure } from '../../framework/errors.ts';
import { EventQueue } from '../../framework/events/event-queue.ts';
import { copyRows } from '../../framework/exemplars/batch.ts';
import { AdmJob } from '../../framework/runtime/adm-job.ts';
import { reloadFromSource } from '../../framework/runtime/deadline-drain.ts';
import { CoordinatorBug, WorkerFault } from '../../framework/runtime/faults.ts';
import type { JobOptions } from '../../framework/runtime/job-types.ts';
import { startJob } from '../../framework/runtime/start-job.ts';
import { StaticJob } from '../../framework/runtime/static-job.ts';
import { ThreadWorker } from '../../framework/runtime/thread-worker.ts';
import { ID_SUM_KERNEL } from '../fixtures/id-sum-kernel.ts';
import { THROWING_KERNEL } from '../fixtures/throwing-kernel.ts';
import { checkIdsExactlyOnce, expectSameSums, jobOptions, randomColumns, referenceSums } from './helpers.ts';
import { type ScriptedCall, scriptedTransport } from './scripted-transport.ts';

const params = new Float64Array(1);
const threads = () => readdirSync('/proc/self/task').length;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function startThread(
  index: number,
  livenessMs = 3000,
  extra: Partial<Parameters<typeof ThreadWorker.start>[0]> = {},
) {
  return ThreadWorker.start({
    index,
    host: `h${index}`,
    kernelModule: ID_SUM_KERNEL,
    kernelConfig: { spin: 0 },
    livenessMs,
    ...extra,
  });
}

describe('moves and recovery settle every call first (item 6)', () => {
  it('a fault in a drop while another move is still in flight: no late insert doubles an exemplar', async () => {
    const N = 3000;
    const data = randomColumns(N, 3, 61);
    const reference = referenceSums(data);
    // h0's extract reply is held back 300 ms, so its insert into h2 is issued late; h1 fails
    // as it drops its data (its second move: the first was the initial load).
    const script: ScriptedCall[] = [{ worker: 0, kind: 'extract', nth: 1, delayMs: 300 }];
    const job = await AdmJob.start(
      jobOptions(data, [1, 1, 1], {
        emulateSpeeds: false,
        transport: scriptedTransport(script),
        injectFaults: new Map([[1, { kind: 'throw', when: 'during-transfer', count: 2 }]]),
      }),
    );
    try {
      expectSameSums(await job.pass(params), reference);
      job.send({ type: 'vacate', host: 'h0' });
      job.send({ type: 'vacate', host: 'h1', deadlineMs: 0 });
      expectSameSums(await job.pass(params), reference);
      expect(job.faults().map((f) => f.host)).toEqual(['h1']);
      // Let any straggling delivery land before looking (it would arrive by 300 ms).
      await sleep(500);
      expect(checkIdsExactlyOnce(await job.heldIds(), N)).toBeNull();
      expect([...job.counts()]).toEqual([0, 0, N]);
      expectSameSums(await job.pass(params), reference);
    } finally {
      await job.close();
    }
  }, 60_000);
});

describe('a deadline drain reloads exactly what was dropped (item 7)', () => {
  it('the sender held more than the plan said: every dropped exemplar is reloaded, by id', async () => {
    const data = randomColumns(100, 2, 7);
    const links = await Promise.all([0, 1, 2].map((i) => startThread(i)));
    try {
      await links[0].insert([copyRows(data, 0, 100)]);
      // The coordinator believes h0 holds 60 (stale counts): the plan reloads 60.
      const result = await reloadFromSource(
        links,
        data,
        [
          { from: 0, to: 1, count: 30 },
          { from: 0, to: 2, count: 30 },
        ],
        () => performance.now(),
      );
      expect(result.reloadedFrom.get(0)).toBe(100);
      const held = await Promise.all(links.map((l) => l.ids()));
      expect(checkIdsExactlyOnce(held, 100)).toBeNull();
      expect(held[0].length).toBe(0);
      expect(result.held).toEqual([0, held[1].length, held[2].length]);
    } finally {
      await Promise.all(links.map((l) => l.close()));
    }
  }, 30_000);

  it('the in-order rule: an extract issued before a drop on one worker takes its rows first', async () => {
    const data = randomColumns(100, 2, 8);
    const w = await startThread(0);
    try {
      await w.insert([copyRows(data, 0, 100)]);
      const [extracted, dropped] = await Promise.all([w.extract([40]), w.drop()]);
      const taken = extracted.parts[0].reduce((s, f) => s + f.count, 0);
      expect(taken).toBe(40);
      expect(dropped.ids.length).toBe(60);
      const ids = new Set([...dropped.ids, ...extracted.parts[0].flatMap((f) => [...f.ids])]);
      expect(ids.size).toBe(100);
      // And an insert issued before an ids() is counted by it.
      const [, after] = await Promise.all([w.insert([copyRows(data, 0, 10)]), w.ids()]);
      expect(after.length).toBe(10);
    } finally {
      await w.close();
    }
  }, 30_000);
});

describe('liveness means progress or a declared sleep (item 8)', () => {
  it('a throttled worker that sleeps longer than the liveness limit between chunks is alive', async () => {
    const data = randomColumns(24, 2, 9);
    const w = await startThread(0, 300);
    try {
      await w.insert([copyRows(data, 0, 24)]);
      w.setRateLimit(8); // 8 exemplars/s: each chunk of 8 rows is followed by a 1 s sleep
      const reply = await w.pass(params, true, 8, true);
      expect(reply.processed).toBe(24);
      expect(w.alive).toBe(true);
    } finally {
      await w.close();
    }
  }, 30_000);

  it('a kernel stuck in one chunk (no progress, no declared sleep) is still caught as hung', async () => {
    const data = randomColumns(16, 2, 10);
    const w = await startThread(0, 300, { kernelConfig: { spin: 2e9 } });
    await w.insert([copyRows(data, 0, 16)]);
    const error = await w.pass(params, true, 8, true).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkerFault);
    expect((error as WorkerFault).failure).toBe('hung');
    expect(w.alive).toBe(false);
  }, 30_000);
});

describe('who is at fault (item 9)', () => {
  it('a kernel that throws the same error everywhere stops the job once, naming the kernel and the error', async () => {
    const data = randomColumns(600, 2, 11);
    const job = await AdmJob.start(
      jobOptions(data, [1, 1, 1], { kernelModule: THROWING_KERNEL, emulateSpeeds: false, soloRate: 1e6 }),
    );
    try {
      const error = await job.pass(params).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RunFailure);
      expect((error as Error).message).toMatch(
        /^the kernel .*throwing-kernel\.ts threw on h\d and h\d: TypeError: weights is undefined/,
      );
      expect(job.faults().length).toBeLessThanOrEqual(1);
    } finally {
      await job.close();
    }
  }, 30_000);

  it('a request that makes no sense is the coordinator’s bug, not the worker’s: the worker stays', async () => {
    const data = randomColumns(100, 2, 12);
    const w = await startThread(0);
    try {
      await w.insert([copyRows(data, 0, 100)]);
      const error = await w.extract([1000]).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CoordinatorBug);
      expect(w.alive).toBe(true);
      expect((await w.ids()).length).toBe(100);
    } finally {
      await w.close();
    }
  }, 30_000);
});

describe('after recovery, pending events come first (item 10)', () => {
  it('a vacate that arrives during recovery is applied before computing resumes, in the same pass', async () => {
    const N = 3000;
    const data = randomColumns(N, 3, 13);
    const reference = referenceSums(data);
    let job: AdmJob | null = null;
    let vacateSeq = -1;
    const script: ScriptedCall[] = [
      {
        worker: 0,
        kind: 'ids',
        nth: 1,
        delayMs: 300,
        onCall: () => {
          vacateSeq = job!.send({ type: 'vacate', host: 'h2' }).seq;
        },
      },
    ];
    job = await AdmJob.start(
      jobOptions(data, [1, 1, 1], {
        kernelConfig: { spin: 300 },
        emulateSpeeds: false,
        livenessMs: 1000,
        transport: scriptedTransport(script),
        injectFaults: new Map([[1, { kind: 'throw', when: 'after-pass', count: 1 }]]),
      }),
    );
    try {
      expectSameSums(await job.pass(params), reference);
      expectSameSums(await job.pass(params), reference);
      expect(job.faults().map((f) => f.host)).toEqual(['h1']);
      expect(vacateSeq).toBeGreaterThanOrEqual(0);
      expect(job.redistributions().some((r) => r.events.includes(vacateSeq))).toBe(true);
      expect(job.counts()[2]).toBe(0);
      expect(checkIdsExactlyOnce(await job.heldIds(), N)).toBeNull();
    } finally {
      await job.close();
    }
  }, 60_000);
});

describe('counts after a failed redistribution (item 11)', () => {
  it('an insert delivered but its reply lost: the counts are taken from the workers, and the next pass is exact', async () => {
    const N = 2000;
    const data = randomColumns(N, 3, 14);
    const reference = referenceSums(data);
    const script: ScriptedCall[] = [
      { worker: 1, kind: 'insert', nth: 2, replyLost: new Error('connection reset after delivery') },
    ];
    const job = await AdmJob.start(
      jobOptions(data, [1, 1], { emulateSpeeds: false, transport: scriptedTransport(script) }),
    );
    try {
      expectSameSums(await job.pass(params), reference);
      job.send({ type: 'vacate', host: 'h0' });
      await expect(job.pass(params)).rejects.toThrow('connection reset after delivery');
      const held = await job.heldIds();
      expect([...job.counts()]).toEqual(held.map((ids) => ids.length));
      expect([...job.counts()]).toEqual([0, N]);
      expectSameSums(await job.pass(params), reference);
    } finally {
      await job.close();
    }
  }, 60_000);
});

describe('starting (items 12, 20)', () => {
  it('bad options are refused before any thread starts', async () => {
    const before = threads();
    const data = randomColumns(100, 2, 15);
    await expect(AdmJob.start(jobOptions(data, [1, 1], { emulatedSpeeds: [1] }))).rejects.toThrow(
      /emulatedSpeeds: need 2 speeds/,
    );
    await expect(AdmJob.start(jobOptions(data, [1, 1], { emulationCores: 0 }))).rejects.toThrow(
      /emulationCores must be > 0, got 0/,
    );
    await expect(AdmJob.start(jobOptions(data, [1, 1], { chunkMs: -1 }))).rejects.toThrow(
      /chunkMs must be > 0, got -1/,
    );
    // From JavaScript, a job without a clock (its type requires one) is refused in one line.
    for (const mode of ['adm', 'plain'] as const) {
      const noClock = { ...jobOptions(data, [1, 1]), clock: undefined } as unknown as JobOptions;
      await expect(startJob(mode, noClock)).rejects.toThrow(/JobOptions.clock is required/);
    }
    expect(threads()).toBe(before);
  });

  it('a worker failing during the initial load: one clear error, and no thread left behind', async () => {
    const before = threads();
    const data = randomColumns(400, 2, 16);
    const error = await AdmJob.start(
      jobOptions(data, [1, 1, 1], {
        injectFaults: new Map([[1, { kind: 'throw', when: 'during-transfer', count: 1 }]]),
      }),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RunFailure);
    expect((error as Error).message).toMatch(/^could not start the job: worker h1 threw during insert/);
    for (let k = 0; k < 50 && threads() > before; k++) await sleep(100);
    expect(threads()).toBeLessThanOrEqual(before);
  }, 30_000);
});

describe('fault injection and records (item 13)', () => {
  it('a mid-pass fault fires after the planned chunks of the pass, not before any work', async () => {
    const data = randomColumns(100, 2, 17);
    const w = await startThread(0, 3000, {
      fault: { kind: 'throw', when: 'after-pass', count: 0, chunks: 2 },
    });
    await w.insert([copyRows(data, 0, 100)]);
    await expect(w.pass(params, true, 8, true)).rejects.toThrow(/injected fault/);
    expect(w.chunksDone()).toBe(2);
  }, 30_000);

  it('two workers failing in one pass: each is credited with the exemplars it held', async () => {
    const N = 8000;
    const data = randomColumns(N, 2, 18);
    const reference = referenceSums(data);
    const job = await AdmJob.start(
      jobOptions(data, [4, 3, 1], {
        kernelConfig: { spin: 1000 },
        emulateSpeeds: false,
        livenessMs: 500,
        injectFaults: new Map([
          // h1 hangs first; h0 throws two chunks later, while h1 is still being waited for.
          // (One chunk later was not enough on a loaded machine: h1, starved of a core, had
          // not begun its first chunk when h0's fault stopped it, and ended without hanging.)
          // h0 holds 4,000 rows: at least 4 chunks of at most 1,024 whatever the rate.
          [0, { kind: 'throw', when: 'after-pass', count: 0, chunks: 3 }],
          [1, { kind: 'hang', when: 'after-pass', count: 0, chunks: 1 }],
        ]),
      }),
    );
    try {
      expect([...job.counts()]).toEqual([4000, 3000, 1000]);
      expectSameSums(await job.pass(params), reference);
      const byHost = Object.fromEntries(job.faults().map((f) => [f.host, f.exemplarsReloaded]));
      expect(byHost).toEqual({ h0: 4000, h1: 3000 });
      expect(checkIdsExactlyOnce(await job.heldIds(), N)).toBeNull();
    } finally {
      await job.close();
    }
  }, 60_000);

  it('events for a host given up on are refused with the reason (they were applied, as if it had come back)', async () => {
    const N = 3000;
    const data = randomColumns(N, 2, 19);
    const reference = referenceSums(data);
    const job = await AdmJob.start(
      jobOptions(data, [1, 1, 1], {
        emulateSpeeds: false,
        injectFaults: new Map([[1, { kind: 'throw', when: 'after-pass', count: 0, chunks: 1 }]]),
      }),
    );
    try {
      expectSameSums(await job.pass(params), reference);
      expect(job.faults().map((f) => f.host)).toEqual(['h1']);
      for (const event of [
        { type: 'available', host: 'h1' },
        { type: 'vacate', host: 'h1' },
        { type: 'load', host: 'h1', fraction: 0.5 },
      ] as const) {
        const record = job.send(event);
        expect(record.outcome?.status, event.type).toBe('rejected');
        if (record.outcome?.status === 'rejected')
          expect(record.outcome.reason).toMatch(/^host h1 failed and was given up on/);
      }
      expectSameSums(await job.pass(params), reference);
      expect(job.counts()[1]).toBe(0);
      expect(checkIdsExactlyOnce(await job.heldIds(), N)).toBeNull();
    } finally {
      await job.close();
    }
  });

  it('a worker fails while every other host is vacated: its rows wait for a host (they failed the run at once, whatever --wait-timeout said)', async () => {
    const N = 3000;
    let waited = false;
    const data = randomColumns(N, 2, 20);
    const reference = referenceSums(data);
    const job = await AdmJob.start(
      jobOptions(data, [1, 1, 1], {
        emulateSpeeds: false,
        kernelConfig: { spin: 1000 },
        waitTimeoutMs: 30_000,
        // h2's first pass after the vacates below: it then holds every row.
        injectFaults: new Map([[2, { kind: 'throw', when: 'after-pass', count: 1, chunks: 1 }]]),
        // Once the rows wait for a host (and only then: a review found the test passing
        // without the wait when the host came back first), h0 comes back.
        onTransition: (t) => {
          if (t.actor === 'pass' && t.state === 'waitingToRecover' && !waited) {
            waited = true;
            setTimeout(() => job.send({ type: 'available', host: 'h0' }), 100);
          }
        },
      }),
    );
    try {
      expectSameSums(await job.pass(params), reference);
      job.sendTogether([
        { type: 'vacate', host: 'h0' },
        { type: 'vacate', host: 'h1' },
      ]);
      expectSameSums(await job.pass(params), reference);
      expect(waited).toBe(true);
      expect(job.faults().map((f) => `${f.host} ${f.unrecovered === true}`)).toEqual(['h2 false']);
      expect(job.faults()[0].exemplarsReloaded).toBe(N);
      expect(job.counts()[0]).toBe(N);
      expect(checkIdsExactlyOnce(await job.heldIds(), N)).toBeNull();
    } finally {
      await job.close();
    }
  });

  it('with no host back within --wait-timeout, the run fails naming the rows, and the fault is recorded unrecovered', async () => {
    const N = 2000;
    const data = randomColumns(N, 2, 21);
    const job = await AdmJob.start(
      jobOptions(data, [1, 1], {
        emulateSpeeds: false,
        kernelConfig: { spin: 1000 },
        waitTimeoutMs: 300,
        injectFaults: new Map([[1, { kind: 'throw', when: 'after-pass', count: 1, chunks: 1 }]]),
      }),
    );
    try {
      await job.pass(params);
      job.send({ type: 'vacate', host: 'h0' });
      const started = performance.now();
      await expect(job.pass(params)).rejects.toThrow(
        /^no host available: the 2000 exemplars h1 held have nowhere to go: every other host is vacated or failed, and none came back within 0\.3 s \(--wait-timeout\)$/,
      );
      expect(performance.now() - started).toBeGreaterThanOrEqual(250);
      expect(job.faults().map((f) => `${f.host} ${f.unrecovered === true}`)).toEqual(['h1 true']);
    } finally {
      await job.close();
    }
  });

  it('a worker failing while it takes reloaded rows: each fault is credited with its own reloads', async () => {
    const N = 6000;
    const data = randomColumns(N, 2, 20);
    const reference = referenceSums(data);
    const job = await AdmJob.start(
      jobOptions(data, [1, 1, 1], {
        emulateSpeeds: false,
        injectFaults: new Map([
          // h0 throws in the first pass; h2 throws in its second move (the first is the
          // initial load): taking its part of h0's reloaded rows.
          [0, { kind: 'throw', when: 'after-pass', count: 0, chunks: 1 }],
          [2, { kind: 'throw', when: 'during-transfer', count: 2 }],
        ]),
      }),
    );
    try {
      expect([...job.counts()]).toEqual([2000, 2000, 2000]);
      expectSameSums(await job.pass(params), reference);
      const faults = job.faults();
      expect(faults.map((f) => f.host)).toEqual(['h0', 'h2']);
      const [h0, h2] = faults;
      // h0's 2,000 were reloaded once on its behalf; h2 then lost its own 2,000 and the part
      // of h0's it was being given, which were reloaded again, on h2's behalf.
      expect(h0.exemplarsReloaded).toBe(2000);
      expect(h2.exemplarsReloaded).toBeGreaterThan(2000);
      expect(h2.exemplarsReloaded).toBeLessThanOrEqual(4000);
      expect([...job.counts()]).toEqual([0, N, 0]);
      // Each recovery is timed from its own detection: h2 failed after h0 was detected.
      expect(h2.detectedAt).toBeGreaterThanOrEqual(h0.detectedAt);
      expect(h0.recoveryMs - h2.recoveryMs).toBeCloseTo(h2.detectedAt - h0.detectedAt, 6);
      expect(checkIdsExactlyOnce(await job.heldIds(), N)).toBeNull();
    } finally {
      await job.close();
    }
  }, 60_000);

  it('the plain build refuses vacate and available on receipt: records and summary agree', async () => {
    const queue = new EventQueue(['h0', 'h1'], {
      refuse: (e) => (e.type === 'load' ? null : 'the plain build cannot move data'),
    });
    queue.receive({ type: 'vacate', host: 'h0' }, 1);
    queue.receive({ type: 'load', host: 'h1', fraction: 0.5 }, 2);
    queue.drain(3);
    expect(queue.records().map((r) => r.outcome?.status)).toEqual(['rejected', 'applied']);
    expect(queue.summary).toMatchObject({ applied: 1, rejected: 1 });
    const data = randomColumns(200, 2, 19);
    const job = await StaticJob.start(jobOptions(data, [1, 1]));
    try {
      const r = job.send({ type: 'vacate', host: 'h0' });
      expect(r.outcome).toMatchObject({ status: 'rejected', reason: 'the plain build cannot move data' });
    } finally {
      await job.close();
    }
  }, 30_000);
});

describe('waiting for a host (item 19)', () => {
  it('the wait timeout counts from when every host left: events that change nothing do not restart it', async () => {
    const data = randomColumns(400, 2, 20);
    const job = await AdmJob.start(jobOptions(data, [1, 1], { emulateSpeeds: false, waitTimeoutMs: 800 }));
    const noise = setInterval(() => job.send({ type: 'load', host: 'h0', fraction: 0.5 }), 100);
    try {
      await job.pass(params);
      job.send({ type: 'vacate', host: 'h0' });
      job.send({ type: 'vacate', host: 'h1' });
      const t = performance.now();
      await expect(job.pass(params)).rejects.toThrow(/no host available/);
      // Generous for a loaded machine, but far below "never" (the noise goes on until the test ends).
      expect(performance.now() - t).toBeLessThan(4000);
    } finally {
      clearInterval(noise);
      await job.close();
    }
  }, 30_000);

  it('an abort ends the wait at once with JobInterrupted', async () => {
    const data = randomColumns(400, 2, 21);
    const abort = new AbortController();
    const job = await AdmJob.start(
      jobOptions(data, [1, 1], { emulateSpeeds: false, waitTimeoutMs: 60_000, signal: abort.signal }),
    );
    try {
      await job.pass(params);
      job.send({ type: 'vacate', host: 'h0' });
      job.send({ type: 'vacate', host: 'h1' });
      setTimeout(() => abort.abort(), 200);
      await expect(job.pass(params)).rejects.toBeInstanceOf(JobInterrupted);
    } finally {
      await job.close();
    }
  }, 30_000);
});
