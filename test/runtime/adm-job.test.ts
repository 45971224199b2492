import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exemplarBytes } from '../../framework/exemplars/rows.ts';
import { AdmJob } from '../../framework/runtime/adm-job.ts';
import { StaticJob } from '../../framework/runtime/static-job.ts';
import {
  checkIdsExactlyOnce,
  computingWatch,
  expectSameSums,
  jobOptions,
  randomColumns,
  referenceSums,
} from './helpers.ts';

const N = 12_000;
const train = randomColumns(N, 6, 7);
const reference = referenceSums(train);
const params = new Float64Array(1);

function later(ms: number, f: () => void): void {
  setTimeout(f, ms);
}

describe('AdmJob on real worker threads', () => {
  let job: AdmJob;
  const watch = computingWatch();
  beforeAll(async () => {
    // spin makes one exemplar cost a few µs so that a pass lasts long enough to be interrupted.
    job = await AdmJob.start(
      jobOptions(randomColumns(N, 6, 7), [1, 1, 2, 4], {
        kernelConfig: { spin: 3000 },
        onTransition: watch.onTransition,
      }),
    );
  });
  afterAll(() => job.close());

  it('starts with a speed-proportional partition and counts every exemplar once', async () => {
    expect([...job.counts()]).toEqual([1500, 1500, 3000, 6000]);
    expectSameSums(await job.pass(params), reference);
    expect(checkIdsExactlyOnce(await job.heldIds(), N)).toBeNull();
  });

  it('vacates a host in the middle of a pass without losing or repeating an exemplar', async () => {
    const computing = watch.next();
    const pass = job.pass(params);
    await computing;
    job.send({ type: 'vacate', host: 'h3' });
    const acc = await pass;
    expectSameSums(acc, reference);
    expect(job.counts()[3]).toBe(0);
    const held = await job.heldIds();
    expect(held[3].length).toBe(0);
    expect(held.map((h) => h.length)).toEqual([...job.counts()]);
    expect(checkIdsExactlyOnce(held, N)).toBeNull();
    const last = job.redistributions().find((r) => r.reason === 'evacuate')!;
    expect(last.obtrusivenessMs).toBeGreaterThan(0);
    expect(last.migrationMs).toBeGreaterThanOrEqual(last.obtrusivenessMs!);
    expect(last.bytesMoved).toBeGreaterThan(0);
    expect(last.triggeredAt).toBeGreaterThanOrEqual(0);
    // Threads hand the vacated rows over while computing: nobody stops.
    expect(last.whileComputing).toBe(true);
    expect(job.stateTransitions().map((t) => t.state)).toContain('{"computing":"handingOff"}');
    const vacate = job.events().find((e) => e.event.type === 'vacate')!;
    expect(vacate.outcome).toEqual({ status: 'applied', appliedAt: expect.any(Number) }); // no dataStays
  });

  it('takes several events at once, also during a redistribution, and rejects an unknown host alone', async () => {
    const pass = job.pass(params);
    later(3, () => {
      job.send({ type: 'available', host: 'h3' });
      job.send({ type: 'load', host: 'h0', fraction: 0.5 });
      job.send({ type: 'load', host: 'h0', fraction: 0.25 });
      job.send({ type: 'vacate', host: 'h9' });
    });
    later(12, () => job.send({ type: 'load', host: 'h1', fraction: 0.5 }));
    expectSameSums(await pass, reference);
    expectSameSums(await job.pass(params), reference);
    const outcomes = job.events().map((e) => `${e.event.type} ${e.event.host} ${e.outcome?.status}`);
    expect(outcomes).toContain('vacate h9 rejected');
    expect(outcomes).toContain('load h0 superseded');
    expect(outcomes.filter((o) => o.endsWith('undefined'))).toEqual([]);
    expect(job.counts()[3]).toBeGreaterThan(0);
    // The move that gave h3 its rows says why: its return, not "gain" like a rebalance on speeds.
    const back = job.events().find((e) => e.event.type === 'available')!;
    expect(job.redistributions().find((r) => r.events.includes(back.seq))?.reason).toBe('available');
    expect(checkIdsExactlyOnce(await job.heldIds(), N)).toBeNull();
  });

  it('waits for a host when every host is vacated, and resumes when one comes back', async () => {
    const held = [...job.counts()];
    const vacates = job.sendTogether(['h0', 'h1', 'h2', 'h3'].map((host) => ({ type: 'vacate', host })));
    later(300, () => job.send({ type: 'available', host: 'h1' }));
    const acc = await job.pass(params);
    expectSameSums(acc, reference);
    expect([...job.counts()]).toEqual([0, N, 0, 0]);
    // Each vacate of a host that held rows says they could not leave when it was applied.
    vacates.forEach((r, i) => {
      expect(r.outcome?.status).toBe('applied');
      if (r.outcome?.status === 'applied') expect(r.outcome.dataStays !== undefined).toBe(held[i] > 0);
    });
    expect(held.some((n) => n > 0)).toBe(true);
    const transitions = job.stateTransitions().map((t) => t.state);
    expect(transitions).toContain('waitingForHost');
    expect(transitions).toContain('redistributing');
  });

  it('gives up with a clear error when no host comes back in time', async () => {
    const small = randomColumns(400, 2, 3);
    const short = await AdmJob.start(jobOptions(small, [1, 1], { waitTimeoutMs: 200 }));
    try {
      short.send({ type: 'vacate', host: 'h0' });
      short.send({ type: 'vacate', host: 'h1' });
      await expect(short.pass(params)).rejects.toThrow(/no host available.*--wait-timeout/);
      // The pass machine's actor lives on after a pass that gave up: the next pass runs.
      short.send({ type: 'available', host: 'h1' });
      expectSameSums(await short.pass(params), referenceSums(small));
    } finally {
      await short.close();
    }
  });

  it('says when the hosts left have no room for the data under their caps, not that every host was vacated', async () => {
    const small = randomColumns(400, 2, 3);
    // 160 rows a host: three hold the 400 rows, two do not.
    const cap = 160 * exemplarBytes(2);
    const options = jobOptions(small, [1, 1, 1], { waitTimeoutMs: 200 });
    const capped = await AdmJob.start({
      ...options,
      hosts: options.hosts.map((h) => ({ ...h, maxBytes: cap })),
    });
    try {
      const stuck = capped.send({ type: 'vacate', host: 'h0' });
      await expect(capped.pass(params)).rejects.toThrow(
        /^no room for the data: 400 training exemplars, but the hosts still available may hold only 320 under their memory caps, and no host came back within 0\.2 s \(--wait-timeout\); raise --max-memory on the agents, or add hosts$/,
      );
      // Applied (h0 computes no more), but the record says its data could not leave.
      expect(stuck.outcome).toMatchObject({
        status: 'applied',
        dataStays: expect.stringMatching(
          /^not enough room: 400 exemplars, but the available hosts may hold only 320/,
        ),
      });
      expect(capped.counts()[0]).toBeGreaterThan(0);
      capped.send({ type: 'available', host: 'h0' });
      expectSameSums(await capped.pass(params), referenceSums(small));
      // Once the data had somewhere to go, the caps are no longer the reason given.
      const all = capped.sendTogether(['h0', 'h1', 'h2'].map((host) => ({ type: 'vacate', host })));
      await expect(capped.pass(params)).rejects.toThrow(/^no host available: every host was vacated/);
      for (const r of all)
        expect(r.outcome).toMatchObject({ dataStays: expect.stringMatching(/^no host available/) });
    } finally {
      await capped.close();
    }
  });

  it('marks only the vacates whose hosts still held rows, not a load or an emptied host', async () => {
    const small = randomColumns(300, 2, 5);
    const job = await AdmJob.start(jobOptions(small, [1, 1, 1], { waitTimeoutMs: 200 }));
    try {
      const left = job.send({ type: 'vacate', host: 'h0' });
      expectSameSums(await job.pass(params), referenceSums(small));
      expect(job.counts()[0]).toBe(0);
      const records = job.sendTogether([
        { type: 'vacate', host: 'h0' },
        { type: 'load', host: 'h1', fraction: 0.5 },
        { type: 'vacate', host: 'h1' },
        { type: 'vacate', host: 'h2' },
      ]);
      await expect(job.pass(params)).rejects.toThrow(/^no host available/);
      expect([left, ...records].map((r) => r.outcome?.status)).toEqual(Array(5).fill('applied'));
      expect(
        [left, ...records].map((r) => r.outcome?.status === 'applied' && r.outcome.dataStays !== undefined),
      ).toEqual([
        false, // its rows left
        false, // h0 held nothing any more
        false, // a load
        true,
        true,
      ]);
    } finally {
      await job.close();
    }
  });

  it('one pass at a time; a job closed in the middle of a pass fails that pass, never hangs it', async () => {
    const closing = await AdmJob.start(
      jobOptions(randomColumns(400, 2, 3), [1, 1], { waitTimeoutMs: 60_000 }),
    );
    closing.send({ type: 'vacate', host: 'h0' });
    closing.send({ type: 'vacate', host: 'h1' });
    const waiting = closing.pass(params); // waits for a host
    await expect(closing.pass(params)).rejects.toThrow(/a pass is already running/);
    const failed = expect(waiting).rejects.toThrow(/closed in the middle of a pass/);
    await closing.close();
    await failed;
  });
});

describe('AdmJob.addHosts', () => {
  it('a host that joins takes its share in a redistribution labelled available (it said "gain", like a rebalance on speeds)', async () => {
    const job = await AdmJob.start(jobOptions(train, [1, 1]));
    try {
      expectSameSums(await job.pass(params), reference);
      const [joined] = await job.addHosts([{ name: 'late', speed: 2 }]);
      expectSameSums(await job.pass(params), reference);
      expect(job.counts()[2]).toBeGreaterThan(0);
      expect(job.redistributions().find((r) => r.events.includes(joined.seq))?.reason).toBe('available');
      expect(checkIdsExactlyOnce(await job.heldIds(), N)).toBeNull();
    } finally {
      await job.close();
    }
  });
});

describe('StaticJob (the plain build)', () => {
  it('splits equally, ignores vacate, and still counts every exemplar once', async () => {
    const job = await StaticJob.start(jobOptions(train, [1, 1, 2]));
    try {
      expect([...job.counts()]).toEqual([4000, 4000, 4000]);
      const record = job.send({ type: 'vacate', host: 'h2' });
      expect(record.outcome?.status).toBe('rejected');
      expect(job.send({ type: 'load', host: 'h1', fraction: 0.5 }).outcome?.status).toBe('applied');
      expectSameSums(await job.pass(params), reference);
      expect(checkIdsExactlyOnce(await job.heldIds(), N)).toBeNull();
    } finally {
      await job.close();
    }
  });
});
