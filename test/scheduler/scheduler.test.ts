import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it, vi } from 'vitest';
import type { SchedulerEvent } from '../../framework/events/types.ts';
import { type EventSink, type Trace, type TraceEntry, TraceScheduler } from '../../scheduler-stub/index.ts';
import { until as waitUntil } from '../fixtures/until.ts';

/** A job that records what it was sent, with the time since `t0`. */
function recorder() {
  const t0 = performance.now();
  const got: { event: SchedulerEvent; at: number }[] = [];
  const sink: EventSink = { send: (event) => got.push({ event, at: performance.now() - t0 }) };
  return { sink, got, hosts: () => got.map((g) => g.event.host) };
}

const vacate = (host: string): SchedulerEvent => ({ type: 'vacate', host });
const ms = (t: number, host: string): TraceEntry => ({ at: { ms: t }, event: vacate(host) });
const it_ = (k: number, host: string): TraceEntry => ({ at: { iteration: k }, event: vacate(host) });

/** Wait until `check` holds (polling), at most `limit` ms. */
const until = (check: () => boolean, limit = 2000) => waitUntil(check, limit, 2);

describe('TraceScheduler: ms-timed events (real timers)', () => {
  it('delivers in time order, never early, equal times together in trace order', async () => {
    const { sink, got, hosts } = recorder();
    const trace: Trace = {
      events: [ms(60, 'a'), ms(20, 'b'), ms(40, 'c'), ms(40, 'd'), ms(20, 'e'), ms(0, 'z')],
    };
    const s = new TraceScheduler(trace, sink);
    expect(s.started).toBe(false);
    s.start();
    expect(s.started).toBe(true);
    // ms 0 goes out at once, synchronously.
    expect(hosts()).toEqual(['z']);
    await until(() => s.done);
    expect(hosts()).toEqual(['z', 'b', 'e', 'c', 'd', 'a']);
    const at = Object.fromEntries(got.map((g) => [g.event.host, g.at]));
    expect(at.b).toBeGreaterThanOrEqual(20 - 1);
    expect(at.c).toBeGreaterThanOrEqual(40 - 1);
    expect(at.a).toBeGreaterThanOrEqual(60 - 1);
    expect(s.sentCount).toBe(6);
    expect(s.remaining).toBe(0);
  });

  it('resumes a run: entries due by the time already run fire at once, the rest at their times', async () => {
    const { sink, got, hosts } = recorder();
    const s = new TraceScheduler({ events: [ms(10, 'a'), ms(1000, 'b'), ms(1060, 'c')] }, sink);
    s.start({ elapsedMs: 1000, iterations: 0, iterationMs: () => 0 });
    expect(hosts()).toEqual(['a', 'b']);
    await until(() => s.done);
    expect(hosts()).toEqual(['a', 'b', 'c']);
    // c was due 60 ms after the resumed run's clock, not 1,060 ms after the resume.
    expect(got[2].at).toBeGreaterThanOrEqual(60 - 1);
    expect(got[2].at).toBeLessThan(1000);
    expect(() =>
      new TraceScheduler({ events: [] }, sink).start({ elapsedMs: -1, iterations: 0, iterationMs: () => 0 }),
    ).toThrow(/elapsedMs = -1/);
  });

  it('replays a resumed run’s past entries in the order they first fired, ms- and iteration-timed mixed', () => {
    const got: SchedulerEvent[][] = [];
    const sink: EventSink = { send: (e) => got.push([e]), sendTogether: (es) => got.push([...es]) };
    const available = (host: string): SchedulerEvent => ({ type: 'available', host });
    // h3 was vacated at iteration 5 (done at 2,000 ms) and came back at 8,000 ms; h1 left at
    // 500 ms, iteration 0's entry came first of all; iteration 30 and 20,000 ms are to come.
    const trace: Trace = {
      events: [
        { at: { ms: 8000 }, event: available('h3') },
        it_(5, 'h3'),
        ms(500, 'h1'),
        it_(0, 'h0'),
        it_(30, 'h4'),
        ms(20_000, 'h5'),
      ],
    };
    const s = new TraceScheduler(trace, sink);
    const done = [1, 2, 3, 4, 5].map((n) => n * 400);
    s.start({ elapsedMs: 12_000, iterations: 20, iterationMs: (n) => done[n - 1] ?? 12_000 });
    s.stop();
    // One group, in first-fired order: the available after the vacate, so h3 ends up back.
    expect(got).toEqual([[vacate('h0'), vacate('h1'), vacate('h3'), available('h3')]]);
    expect(s.remaining).toBe(2);
  });

  it('sends nothing before start()', async () => {
    const { sink, got } = recorder();
    const s = new TraceScheduler({ events: [ms(0, 'a'), ms(5, 'b')] }, sink);
    await sleep(20);
    expect(got).toEqual([]);
    expect(s.remaining).toBe(2);
    s.stop();
  });

  it('stop() prevents further delivery and clears the timer', async () => {
    const { sink, hosts } = recorder();
    const s = new TraceScheduler({ events: [ms(5, 'a'), ms(250, 'b'), ms(300, 'c')] }, sink);
    s.start();
    await until(() => hosts().length === 1);
    s.stop();
    expect(s.stopped).toBe(true);
    await sleep(350);
    expect(hosts()).toEqual(['a']);
    expect(s.remaining).toBe(2);
    expect(s.done).toBe(false);
    expect(() => s.start()).toThrow(/stopped/);
  });

  it('stop() from the job, during a group due together, stops the rest of it', async () => {
    const got: string[] = [];
    let s: TraceScheduler | undefined;
    const sink: EventSink = {
      send: (e) => {
        got.push(e.host);
        if (e.host === 'b') s?.stop();
      },
    };
    s = new TraceScheduler({ events: [ms(10, 'a'), ms(10, 'b'), ms(10, 'c'), ms(20, 'd')] }, sink);
    s.start();
    await sleep(50);
    expect(got).toEqual(['a', 'b']);
    expect(s.remaining).toBe(2);
  });

  it('start() twice is an error', () => {
    const s = new TraceScheduler({ events: [] }, recorder().sink);
    s.start();
    expect(() => s.start()).toThrow(/already started/);
    expect(s.done).toBe(true);
    s.stop();
  });

  it('never fires early by its own clock: a timer that wakes early is re-armed', async () => {
    // The scheduler's clock stands still, so every wake-up is early.
    let clock = 0;
    const { sink, got } = recorder();
    const s = new TraceScheduler({ events: [ms(20, 'a')] }, sink, { now: () => clock });
    s.start();
    await sleep(70);
    expect(got).toEqual([]);
    clock = 20;
    await until(() => got.length === 1);
    s.stop();
  });

  it('the timer does not keep the process alive (unref)', () => {
    const spy = vi.spyOn(globalThis, 'setTimeout');
    const s = new TraceScheduler({ events: [ms(10_000, 'a')] }, recorder().sink);
    s.start();
    const timer = spy.mock.results.at(-1)?.value as NodeJS.Timeout;
    expect(timer.hasRef()).toBe(false);
    spy.mockRestore();
    s.stop();
  });

  it('a job whose send throws: the other events still go out; onError gets the error', async () => {
    const errors: unknown[] = [];
    const got: string[] = [];
    const sink: EventSink = {
      send: (e) => {
        got.push(e.host);
        if (e.host === 'b') throw new Error('boom');
      },
    };
    const s = new TraceScheduler({ events: [ms(5, 'a'), ms(5, 'b'), ms(5, 'c'), ms(15, 'd')] }, sink, {
      onError: (error, event) => errors.push([(error as Error).message, event.host]),
    });
    s.start();
    await until(() => s.done);
    expect(got).toEqual(['a', 'b', 'c', 'd']);
    expect(errors).toEqual([['boom', 'b']]);
  });
});

describe('TraceScheduler: events due at the same moment', () => {
  it('go to a job that can take them together in one call (an agent’s workers vacated together)', () => {
    const calls: string[] = [];
    const sink = {
      send: (e: SchedulerEvent) => calls.push(`send ${e.host}`),
      sendTogether: (events: readonly SchedulerEvent[]) =>
        calls.push(`together ${events.map((e) => e.host).join('+')}`),
    };
    const s = new TraceScheduler({ events: [it_(2, 'big.0'), it_(2, 'big.1'), it_(3, 'c')] }, sink);
    expect(s.onIteration(2)).toBe(2);
    expect(s.onIteration(3)).toBe(1);
    expect(calls).toEqual(['together big.0+big.1', 'send c']);
    expect(s.sentCount).toBe(3);
  });
});

describe('TraceScheduler: iteration-timed events', () => {
  it('fires on onIteration(n), several at once, in order, each once', () => {
    const { sink, hosts } = recorder();
    const trace: Trace = {
      events: [it_(5, 'a'), it_(2, 'b'), it_(2, 'c'), it_(3, 'd'), it_(10, 'e'), it_(11, 'f')],
    };
    const s = new TraceScheduler(trace, sink);
    expect(s.onIteration(1)).toBe(0);
    expect(s.onIteration(2)).toBe(2);
    expect(hosts()).toEqual(['b', 'c']);
    expect(s.onIteration(2)).toBe(0);
    // Jumping from 2 to 10 delivers everything ≤ 10, once, in time order.
    expect(s.onIteration(10)).toBe(3);
    expect(hosts()).toEqual(['b', 'c', 'd', 'a', 'e']);
    expect(s.onIteration(10)).toBe(0);
    expect(s.onIteration(7)).toBe(0); // going back sends nothing again
    expect(s.remaining).toBe(1);
    expect(s.onIteration(11)).toBe(1);
    expect(hosts()).toEqual(['b', 'c', 'd', 'a', 'e', 'f']);
    expect(s.done).toBe(true);
    expect(s.sentCount).toBe(6);
  });

  it('onIteration(Infinity) sends everything left; NaN is a programming error', () => {
    const { sink, hosts } = recorder();
    const s = new TraceScheduler({ events: [it_(5, 'a'), it_(2, 'b')] }, sink);
    expect(() => s.onIteration(Number.NaN)).toThrow(RangeError);
    expect(hosts()).toEqual([]);
    expect(s.onIteration(Number.POSITIVE_INFINITY)).toBe(2);
    expect(hosts()).toEqual(['b', 'a']);
  });

  it('entries at iteration 0 fire at start()', () => {
    const { sink, hosts } = recorder();
    const s = new TraceScheduler({ events: [it_(1, 'a'), it_(0, 'b'), ms(0, 'c')] }, sink);
    s.start();
    expect(hosts()).toEqual(['b', 'c']);
    s.onIteration(1);
    expect(hosts()).toEqual(['b', 'c', 'a']);
    s.stop();
  });

  it('iteration entries work without start() (driving from code)', () => {
    const { sink, hosts } = recorder();
    const s = new TraceScheduler({ events: [it_(1, 'a'), ms(0, 'b')] }, sink);
    expect(s.onIteration(1)).toBe(1);
    expect(hosts()).toEqual(['a']);
    expect(s.remaining).toBe(1);
  });

  it('stop() prevents further delivery', () => {
    const { sink, hosts } = recorder();
    const s = new TraceScheduler({ events: [it_(1, 'a'), it_(2, 'b')] }, sink);
    s.onIteration(1);
    s.stop();
    expect(s.onIteration(5)).toBe(0);
    expect(hosts()).toEqual(['a']);
    // send() still passes through.
    s.send(vacate('x'));
    expect(hosts()).toEqual(['a', 'x']);
  });

  it('mixes ms and iteration entries, and reports each send with its entry', async () => {
    const seen: [string, TraceEntry | undefined][] = [];
    const { sink, hosts } = recorder();
    const trace: Trace = {
      events: [
        it_(1, 'i1'),
        ms(10, 'm10'),
        { at: { iteration: 2 }, event: { type: 'load', host: 'i2', fraction: 0.5 }, note: 'half' },
      ],
    };
    const s = new TraceScheduler(trace, sink, { onSend: (e, entry) => seen.push([e.host, entry]) });
    s.start();
    s.onIteration(1);
    await until(() => hosts().length === 2);
    s.onIteration(2);
    s.send(vacate('p'));
    expect(hosts()).toEqual(['i1', 'm10', 'i2', 'p']);
    expect(seen.map(([h, e]) => [h, e?.note])).toEqual([
      ['i1', undefined],
      ['m10', undefined],
      ['i2', 'half'],
      ['p', undefined],
    ]);
    expect(seen[2][1]).toBe(trace.events[2]);
    expect(seen[3][1]).toBeUndefined();
    expect(s.done).toBe(true);
    s.stop();
  });

  it('an error from the job is rethrown after the rest of the group goes out', () => {
    const got: string[] = [];
    const sink: EventSink = {
      send: (e) => {
        got.push(e.host);
        if (e.host === 'a') throw new Error('first');
        if (e.host === 'b') throw new Error('second');
      },
    };
    const s = new TraceScheduler({ events: [it_(1, 'a'), it_(1, 'b'), it_(1, 'c')] }, sink);
    expect(() => s.onIteration(1)).toThrow('first');
    expect(got).toEqual(['a', 'b', 'c']);
    expect(s.done).toBe(true);
    expect(() => s.send(vacate('b'))).toThrow('second');
  });
});
