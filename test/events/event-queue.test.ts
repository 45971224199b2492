import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EventQueue, type HostState, INITIAL_HOST_STATE } from '../../framework/events/event-queue.ts';
import type { EventRecord, SchedulerEvent } from '../../framework/events/types.ts';
import { SeededRandom } from '../../framework/util/random.ts';

const HOSTS = ['h0', 'h1', 'h2', 'h3'];

/** Cast for events that are deliberately malformed (as untyped run-time code could send). */
const bad = (value: unknown): SchedulerEvent => value as SchedulerEvent;

function statesOf(q: EventQueue): Record<string, HostState> {
  return Object.fromEntries(q.states());
}

describe('EventQueue basics', () => {
  it('says which hosts have a vacate waiting (the redistribution sends them nothing)', () => {
    const q = new EventQueue(['h0', 'h1', 'h2']);
    q.receive({ type: 'vacate', host: 'h1', deadlineMs: 50 }, 0);
    q.receive({ type: 'vacate', host: 'h2' }, 1);
    q.receive({ type: 'available', host: 'h2' }, 2);
    q.receive({ type: 'load', host: 'h0', fraction: 0.5 }, 3);
    expect(['h0', 'h1', 'h2'].map((h) => q.vacatePending(h))).toEqual([false, true, false]);
    q.drain(4);
    expect(q.vacatePending('h1')).toBe(false);
  });

  it('starts with every host available at full speed', () => {
    const q = new EventQueue(HOSTS);
    for (const h of HOSTS) expect(q.hostState(h)).toEqual({ available: true, load: 1 });
    expect(q.pending).toBe(false);
    expect(q.pendingSize).toBe(0);
    expect(q.availableHosts()).toEqual(HOSTS);
    expect(() => q.hostState('h9')).toThrow(RangeError);
  });

  it('rejects a duplicate host list and a bad record limit (programming errors)', () => {
    expect(() => new EventQueue(['h0', 'h0'])).toThrow(RangeError);
    expect(() => new EventQueue(HOSTS, { recordLimit: -1 })).toThrow(RangeError);
  });

  it('applies simultaneous events for different hosts in one drain', () => {
    const q = new EventQueue(HOSTS);
    const a = q.receive({ type: 'vacate', host: 'h1' }, 5);
    const b = q.receive({ type: 'load', host: 'h2', fraction: 0.5 }, 5);
    const c = q.receive({ type: 'vacate', host: 'h3' }, 5);
    expect(q.pending).toBe(true);
    expect(a.outcome).toBeUndefined();
    const r = q.drain(7);
    expect(r.applied.map((x) => x.seq)).toEqual([0, 1, 2]);
    for (const x of [a, b, c]) expect(x.outcome).toEqual({ status: 'applied', appliedAt: 7 });
    expect(r.changed).toBe(true);
    expect(r.changes.map((x) => x.host)).toEqual(['h1', 'h2', 'h3']);
    expect(r.changes[1]).toEqual({
      host: 'h2',
      before: INITIAL_HOST_STATE,
      after: { available: true, load: 0.5 },
    });
    expect(statesOf(q)).toEqual({
      h0: { available: true, load: 1 },
      h1: { available: false, load: 1 },
      h2: { available: true, load: 0.5 },
      h3: { available: false, load: 1 },
    });
    expect(Object.fromEntries(r.states)).toEqual(statesOf(q));
    expect(q.availableHosts()).toEqual(['h0', 'h2']);
    expect(q.pending).toBe(false);
  });

  it('an available after a vacate (same window) supersedes it, and nothing changes', () => {
    const q = new EventQueue(HOSTS);
    const v = q.receive({ type: 'vacate', host: 'h0' }, 1);
    const a = q.receive({ type: 'available', host: 'h0' }, 2);
    expect(v.outcome).toEqual({ status: 'superseded', by: a.seq, at: 2 });
    const r = q.drain(3);
    expect(a.outcome).toEqual({ status: 'applied', appliedAt: 3 });
    expect(r.applied).toEqual([a]);
    expect(r.changed).toBe(false);
    expect(r.changes).toEqual([]);
    expect(q.hostState('h0')).toEqual({ available: true, load: 1 });
  });

  it('load and vacate are different dimensions: neither supersedes the other', () => {
    const q = new EventQueue(HOSTS);
    const l = q.receive({ type: 'load', host: 'h2', fraction: 0.25 }, 1);
    const v = q.receive({ type: 'vacate', host: 'h2' }, 2);
    const l2 = q.receive({ type: 'load', host: 'h1', fraction: 0.5 }, 2);
    const v2 = q.receive({ type: 'vacate', host: 'h1' }, 3);
    const l3 = q.receive({ type: 'load', host: 'h1', fraction: 0.75 }, 4);
    q.drain(5);
    expect(l.outcome?.status).toBe('applied');
    expect(v.outcome?.status).toBe('applied');
    expect(l2.outcome).toEqual({ status: 'superseded', by: l3.seq, at: 4 });
    expect(v2.outcome?.status).toBe('applied');
    expect(l3.outcome?.status).toBe('applied');
    // A load after a vacate does not un-vacate the host.
    expect(q.hostState('h2')).toEqual({ available: false, load: 0.25 });
    expect(q.hostState('h1')).toEqual({ available: false, load: 0.75 });
    // The load survives the host being away.
    q.receive({ type: 'available', host: 'h2' }, 6);
    q.drain(7);
    expect(q.hostState('h2')).toEqual({ available: true, load: 0.25 });
  });

  it('an event received after a drain waits for the next drain', () => {
    const q = new EventQueue(HOSTS);
    q.receive({ type: 'vacate', host: 'h0' }, 1);
    const first = q.drain(2);
    // ... while the caller acts on `first`, more events arrive:
    const late = q.receive({ type: 'available', host: 'h0' }, 3);
    expect(first.applied.map((r) => r.seq)).toEqual([0]);
    expect(late.outcome).toBeUndefined();
    expect(q.hostState('h0').available).toBe(false);
    expect(q.pending).toBe(true);
    const second = q.drain(4);
    expect(second.applied).toEqual([late]);
    expect(second.changes).toEqual([
      { host: 'h0', before: { available: false, load: 1 }, after: { available: true, load: 1 } },
    ]);
    expect(q.drain(5)).toMatchObject({ applied: [], changes: [], changed: false });
  });

  it('an applied event that does not change the state is reported as no change', () => {
    const q = new EventQueue(HOSTS);
    q.receive({ type: 'load', host: 'h0', fraction: 1 }, 0);
    q.receive({ type: 'available', host: 'h1' }, 0);
    const r = q.drain(1);
    expect(r.applied).toHaveLength(2);
    expect(r.changed).toBe(false);
  });

  it.each([
    [
      'unknown host',
      { type: 'vacate', host: 'h9' },
      '"h9" is not a host of this job (hosts: h0, h1, h2, h3)',
    ],
    ['unknown type', { type: 'pause', host: 'h0' }, 'unknown event type "pause"'],
    ['missing type', { host: 'h0' }, 'unknown event type undefined'],
    ['host not a string', { type: 'vacate', host: 3 }, 'host is a number (3)'],
    ['fraction 0', { type: 'load', host: 'h0', fraction: 0 }, 'load fraction 0 is not a number in (0, 1]'],
    ['fraction > 1', { type: 'load', host: 'h0', fraction: 1.5 }, 'load fraction 1.5 is not'],
    ['fraction NaN', { type: 'load', host: 'h0', fraction: Number.NaN }, 'load fraction NaN is not'],
    ['fraction string', { type: 'load', host: 'h0', fraction: '0.5' }, 'load fraction "0.5" is not'],
    ['fraction missing', { type: 'load', host: 'h0' }, 'load event has no fraction'],
    ['null', null, 'event is null'],
    ['a string', 'vacate h0', 'event is a string'],
  ])('rejects at once, without throwing: %s', (_name, event, reason) => {
    const q = new EventQueue(HOSTS);
    const r = q.receive(bad(event), 12);
    expect(r.outcome).toMatchObject({ status: 'rejected', at: 12 });
    expect(r.outcome?.status === 'rejected' && r.outcome.reason).toContain(reason);
    expect(r.outcome?.status === 'rejected' && r.outcome.reason).not.toMatch(/\n/);
    expect(q.pending).toBe(false);
    expect(q.summary).toMatchObject({ received: 1, rejected: 1, applied: 0, superseded: 0, pending: 0 });
    expect(q.drain(13).changed).toBe(false);
    expect(q.records()).toEqual([r]);
  });

  it('keeps a frozen copy of a valid event (later mutation by the sender does not leak in)', () => {
    const q = new EventQueue(HOSTS);
    const e = { type: 'load' as const, host: 'h1', fraction: 0.5, extra: 'x' };
    const r = q.receive(e, 0);
    e.fraction = 0.9;
    expect(r.event).toEqual({ type: 'load', host: 'h1', fraction: 0.5 });
    expect(Object.isFrozen(r.event)).toBe(true);
    q.drain(1);
    expect(q.hostState('h1').load).toBe(0.5);
  });

  it('keeps only the first recordLimit records but counts everything', () => {
    const q = new EventQueue(HOSTS, { recordLimit: 3 });
    const recs: EventRecord[] = [];
    for (let i = 0; i < 10; i++)
      recs.push(q.receive({ type: 'load', host: 'h0', fraction: (i + 1) / 10 }, i));
    q.drain(10);
    expect(q.records()).toEqual(recs.slice(0, 3));
    expect(recs[9].outcome).toEqual({ status: 'applied', appliedAt: 10 });
    expect(q.summary).toEqual({
      received: 10,
      applied: 1,
      superseded: 9,
      rejected: 0,
      pending: 0,
      recordsKept: 3,
      recordsOmitted: 7,
    });
  });
});

// ---------------------------------------------------------------------------------------

type Step = { kind: 'event'; event: SchedulerEvent } | { kind: 'drain' };

const reference = (hosts: readonly string[]) => {
  const state = new Map<string, HostState>(hosts.map((h) => [h, { available: true, load: 1 }]));
  const valid = (e: SchedulerEvent): boolean =>
    hosts.includes(e.host) &&
    (e.type !== 'load' || (typeof e.fraction === 'number' && e.fraction > 0 && e.fraction <= 1));
  const apply = (e: SchedulerEvent): void => {
    const s = state.get(e.host)!;
    if (e.type === 'load') state.set(e.host, { ...s, load: e.fraction });
    else state.set(e.host, { ...s, available: e.type === 'available' });
  };
  return { state, valid, apply };
};

const dimension = (e: SchedulerEvent) => (e.type === 'load' ? 'load' : 'availability');

describe('EventQueue property: nothing lost, nothing applied twice, state = in-order reference', () => {
  it('holds for random event sequences interleaved with drains', () => {
    const stepArb = (nHosts: number): fc.Arbitrary<Step> => {
      const host = fc.oneof(
        { weight: 8, arbitrary: fc.integer({ min: 0, max: nHosts - 1 }).map((i) => `h${i}`) },
        { weight: 1, arbitrary: fc.constantFrom('h9', 'x', '') },
      );
      const fraction = fc.oneof(
        { weight: 6, arbitrary: fc.double({ min: Number.MIN_VALUE, max: 1, noNaN: true }) },
        { weight: 2, arbitrary: fc.constantFrom(0.25, 0.5, 1) },
        { weight: 1, arbitrary: fc.constantFrom(0, -0.5, 1.5, Number.NaN, Number.POSITIVE_INFINITY) },
      );
      const event: fc.Arbitrary<SchedulerEvent> = fc.oneof(
        fc.record({ type: fc.constant('vacate' as const), host }),
        fc.record({ type: fc.constant('available' as const), host }),
        fc.record({ type: fc.constant('load' as const), host, fraction }),
      );
      return fc.oneof(
        { weight: 5, arbitrary: event.map((e): Step => ({ kind: 'event', event: e })) },
        { weight: 1, arbitrary: fc.constant<Step>({ kind: 'drain' }) },
      );
    };
    const scenario = fc.integer({ min: 1, max: 5 }).chain((n) =>
      fc.record({
        n: fc.constant(n),
        steps: fc.array(stepArb(n), { maxLength: 80 }),
        recordLimit: fc.oneof(fc.constant(Number.POSITIVE_INFINITY), fc.integer({ min: 0, max: 20 })),
      }),
    );

    fc.assert(
      fc.property(scenario, ({ n, steps, recordLimit }) => {
        const hosts = Array.from({ length: n }, (_, i) => `h${i}`);
        const q = new EventQueue(hosts, { recordLimit });
        const ref = reference(hosts);
        const all: EventRecord[] = [];
        const window: EventRecord[] = []; // valid events received since the last drain
        const appliedSeqs = new Set<number>();
        let now = 0;
        const drain = () => {
          now++;
          const before = statesOf(q);
          const r = q.drain(now);
          for (const rec of r.applied) {
            expect(appliedSeqs.has(rec.seq)).toBe(false);
            appliedSeqs.add(rec.seq);
            expect(rec.outcome).toEqual({ status: 'applied', appliedAt: now });
          }
          // Applied events are exactly the valid events of this window that were not superseded.
          expect(r.applied.map((x) => x.seq)).toEqual(
            window.filter((x) => x.outcome?.status === 'applied').map((x) => x.seq),
          );
          for (const rec of window) expect(rec.outcome).toBeDefined();
          window.length = 0;
          expect(statesOf(q)).toEqual(Object.fromEntries(ref.state));
          const after = statesOf(q);
          const changedHosts = hosts.filter(
            (h) => before[h].available !== after[h].available || before[h].load !== after[h].load,
          );
          expect(r.changes.map((c) => c.host)).toEqual(changedHosts);
          expect(r.changed).toBe(changedHosts.length > 0);
          expect(q.pending).toBe(false);
        };
        for (const step of steps) {
          if (step.kind === 'drain') {
            drain();
            continue;
          }
          now++;
          const rec = q.receive(step.event, now);
          expect(rec.seq).toBe(all.length);
          all.push(rec);
          if (ref.valid(step.event)) {
            ref.apply(step.event);
            expect(rec.outcome === undefined || rec.outcome.status === 'superseded').toBe(true);
            window.push(rec);
          } else {
            expect(rec.outcome).toMatchObject({ status: 'rejected', at: now });
          }
          expect(q.pendingSize).toBeLessThanOrEqual(2 * n);
        }
        drain();

        // Every received event ends with exactly one outcome.
        for (const rec of all) expect(rec.outcome).toBeDefined();
        const count = (s: string) => all.filter((r) => r.outcome?.status === s).length;
        const summary = q.summary;
        expect(summary.received).toBe(all.length);
        expect(summary.applied).toBe(count('applied'));
        expect(summary.superseded).toBe(count('superseded'));
        expect(summary.rejected).toBe(count('rejected'));
        expect(summary.applied + summary.superseded + summary.rejected).toBe(summary.received);
        expect(summary.pending).toBe(0);
        expect(appliedSeqs.size).toBe(summary.applied);
        expect(q.records()).toEqual(all.slice(0, Math.min(all.length, recordLimit)));
        expect(summary.recordsKept + summary.recordsOmitted).toBe(all.length);

        // A superseded event was made irrelevant by a later valid event for the same host and
        // dimension, received before the next drain (nothing else in between was applied).
        for (const rec of all) {
          if (rec.outcome?.status !== 'superseded') continue;
          const by = all[rec.outcome.by];
          expect(by.seq).toBeGreaterThan(rec.seq);
          expect(by.event.host).toBe(rec.event.host);
          expect(dimension(by.event)).toBe(dimension(rec.event));
          expect(by.outcome?.status).not.toBe('rejected');
          expect(rec.outcome.at).toBe(by.receivedAt);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('EventQueue under an event storm', () => {
  it('100,000 events into 4 hosts then one drain: bounded pending, right final state', () => {
    const q = new EventQueue(HOSTS);
    const ref = reference(HOSTS);
    const rnd = new SeededRandom(42);
    let maxPending = 0;
    let rejected = 0;
    const N = 100_000;
    for (let i = 0; i < N; i++) {
      const hostIndex = rnd.int(5); // 4 = unknown host
      const host = hostIndex === 4 ? 'h4' : HOSTS[hostIndex];
      const k = rnd.int(3);
      const event: SchedulerEvent =
        k === 0
          ? { type: 'vacate', host }
          : k === 1
            ? { type: 'available', host }
            : { type: 'load', host, fraction: rnd.int(10) === 0 ? 0 : 1 - rnd.next() };
      q.receive(event, i);
      if (ref.valid(event)) ref.apply(event);
      else rejected++;
      if (q.pendingSize > maxPending) maxPending = q.pendingSize;
    }
    expect(maxPending).toBeLessThanOrEqual(2 * HOSTS.length);
    const r = q.drain(N);
    expect(r.applied.length).toBeLessThanOrEqual(2 * HOSTS.length);
    expect(statesOf(q)).toEqual(Object.fromEntries(ref.state));
    const s = q.summary;
    expect(s.received).toBe(N);
    expect(s.rejected).toBe(rejected);
    expect(s.applied).toBe(r.applied.length);
    expect(s.applied + s.superseded + s.rejected).toBe(N);
    expect(s.pending).toBe(0);
    expect(s.recordsKept).toBe(10_000);
    expect(s.recordsOmitted).toBe(N - 10_000);
    expect(q.records()).toHaveLength(10_000);
    for (const rec of q.records()) expect(rec.outcome).toBeDefined();
  });
});

describe('hostile events', () => {
  it('a deeply nested value is rejected alone, without overflowing the stack', () => {
    let deep: unknown = [];
    for (let i = 0; i < 200_000; i++) deep = [deep];
    const q = new EventQueue(['h0']);
    const r = q.receive(deep as SchedulerEvent, 0);
    expect(r.outcome?.status).toBe('rejected');
    expect(q.receive({ type: 'vacate', host: 'h0' }, 1).outcome).toBeUndefined();
  });
});
