/**
 * The CLI's progress lines (apps/cli/progress.ts) for the pass machine's wait for a host:
 * one line per wait, however many events pass through `redistributing` during it.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ProgressPrinter } from '../../apps/cli/progress.ts';

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
