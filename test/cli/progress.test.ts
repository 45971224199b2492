/**
 * The CLI's progress lines (apps/cli/progress.ts) for the pass machine's wait for a host:
 * one line per wait, however many events pass through `redistributing` during it; and the
 * iteration line's rates, which count only workers that compute.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadText, ProgressPrinter, rateColumn, whenText } from '../../apps/cli/progress.ts';
import type { WorkerRecord } from '../../framework/index.ts';

const written: string[] = [];
afterEach(() => {
  vi.restoreAllMocks();
  written.length = 0;
});

function printer(quiet: boolean): ProgressPrinter {
  vi.spyOn(process.stdout, 'write').mockImplementation((text: string | Uint8Array) => {
    written.push(String(text));
    return true;
  });
  return new ProgressPrinter(quiet);
}

const pass = (state: string) => ({ at: 0, actor: 'pass', state });

describe('ProgressPrinter while the job waits for a host', () => {
  it('says so once per wait', () => {
    const p = printer(false);
    for (const s of ['computing', 'redistributing', 'waitingForHost', 'redistributing', 'waitingForHost']) {
      p.onTransition(pass(s));
    }
    expect(written.filter((l) => l.includes('waiting for a host'))).toHaveLength(1);
    // The wait ended (a host came back and the pass computed): the next wait is a new one.
    for (const s of ['redistributing', 'computing', '{"idle":"quiet"}', 'redistributing', 'waitingForHost']) {
      p.onTransition(pass(s));
    }
    expect(written.filter((l) => l.includes('waiting for a host'))).toHaveLength(2);
    // Other machines' states never print it.
    p.onTransition({ at: 0, actor: 'h0', state: 'waitingForHost' });
    expect(written.filter((l) => l.includes('waiting for a host'))).toHaveLength(2);
  });

  it('prints nothing with --quiet', () => {
    const p = printer(true);
    p.onTransition(pass('waitingForHost'));
    expect(written).toEqual([]);
  });
});

const worker = (over: Partial<WorkerRecord>): WorkerRecord => ({
  host: 'h',
  declaredSpeed: 1,
  emulatedRate: null,
  measuredRate: 50_000,
  load: 1,
  available: true,
  exemplars: 100,
  exemplarsProcessed: 0,
  ...over,
});

describe("the iteration line's exemplars/s", () => {
  it('sums the workers that compute, each at its share of its host', () => {
    expect(
      rateColumn([worker({}), worker({ measuredRate: 20_000, load: 0.5 }), worker({ measuredRate: 900 })]),
    ).toBe('exemplars/s 50k/10k/900 = 61k');
  });

  it('leaves out a worker that holds nothing or whose host is unavailable, though its speed is known', () => {
    // As after `vacate h0` (its rows moved away), a SIGKILLed agent, or a vacate whose rows stay.
    const vacated = worker({ exemplars: 0, available: false });
    const lost = worker({ exemplars: 0, measuredRate: 66_000 });
    const stuck = worker({ available: false, measuredRate: 70_000 });
    expect(rateColumn([vacated, worker({ measuredRate: 59_000 }), lost, stuck])).toBe(
      'exemplars/s –/59k/–/– = 59k',
    );
  });

  it('says – when nothing is measured yet or nothing computes', () => {
    expect(rateColumn([worker({ measuredRate: null }), worker({ measuredRate: null })])).toBe(
      'exemplars/s –',
    );
    expect(rateColumn([worker({ exemplars: 0 })])).toBe('exemplars/s –');
  });
});

describe("the summary's workers line", () => {
  it("says a worker never measured is not measured, and a loaded one's rate at the load applied", () => {
    const p = printer(false);
    p.finished({
      final: {
        iterations: 1,
        passes: 1,
        seconds: 1,
        testAccuracy: 0.5,
        trainAccuracy: 0.5,
        error: 1,
        trainingError: 1,
        stoppedEarly: false,
        bestIteration: null,
      },
      redistributions: [],
      faults: [],
      events: [],
      data: { validation: 0 },
      workers: [
        worker({ host: 'h0', measuredRate: null }),
        worker({ host: 'h1', measuredRate: 20_000, load: 0.5 }),
      ],
    } as unknown as Parameters<ProgressPrinter['finished']>[0]);
    const line = written.find((l) => l.startsWith('workers:'))!;
    expect(line).toBe(
      'workers: h0 speed 1 not measured, h1 speed 1 measured 20000/s unloaded (10000/s at its load 0.5)\n',
    );
  });
});

describe('load fractions as printed', () => {
  it('three significant digits: a load watch reports fractions such as 0.5369891689847118', () => {
    expect(loadText(0.5369891689847118)).toBe('0.537');
    expect(loadText(0.5)).toBe('0.5');
    expect(loadText(1)).toBe('1');
    expect(loadText(0.25763551197079)).toBe('0.258');
  });
});

describe("a redistribution's time in the summary", () => {
  it('when asked for, and when its data moved if it had to wait (its times run from the request)', () => {
    expect(whenText({ triggeredAt: 8180, startedAt: 8185 })).toBe('at 8.18 s');
    expect(whenText({ triggeredAt: 8180, startedAt: 11020 })).toBe('asked at 8.18 s, moved from 11.02 s');
  });
});
