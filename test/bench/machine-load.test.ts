/** bench/lib/machine.ts: the hypervisor's steal over a run, read from /proc/stat. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  describeLoad,
  type LoadSnapshot,
  loadSnapshot,
  readCpuTicks,
  stealPercent,
} from '../../bench/lib/machine.ts';

const dir = mkdtempSync(join(tmpdir(), 'admove-machine-'));

function statFile(name: string, cpuLine: string): string {
  const path = join(dir, name);
  // The aggregate line first, then one per CPU (whose numbers must not be read).
  writeFileSync(path, `${cpuLine}\ncpu0 9 9 9 9 9 9 9 9999 0 0\nintr 1 2 3\n`);
  return path;
}

function snapshot(cpuTicks: LoadSnapshot['cpuTicks']): LoadSnapshot {
  return { at: '', loadAverage: [0, 0, 0], psiCpu: null, psiCpuCgroup: null, cpuTicks };
}

describe('CPU time the hypervisor took (steal)', () => {
  it('reads the total and the steal of the aggregate cpu line, not a CPU of its own', () => {
    // user nice system idle iowait irq softirq steal guest guest_nice: guest time is already
    // counted in user (and guest_nice in nice), so the last two must not be added again.
    const path = statFile('a', 'cpu  100 0 50 800 10 0 20 20 30 5');
    expect(readCpuTicks(path)).toEqual({ total: 1000, steal: 20 });
  });

  it('is the share of all CPU time between two readings, and null without both', () => {
    const start = snapshot({ total: 1000, steal: 20 });
    const end = snapshot({ total: 3000, steal: 420 });
    expect(stealPercent({ start, end })).toBe(20);
    expect(describeLoad({ start, end })).toMatch(/steal\) 20 %/);
    expect(stealPercent({ start, end: snapshot(null) })).toBeNull();
    expect(describeLoad({ start, end: snapshot(null) })).not.toMatch(/steal/);
    // An old result's snapshot has no such field at all.
    const old = { ...start, cpuTicks: undefined } as unknown as LoadSnapshot;
    expect(stealPercent({ start: old, end })).toBeNull();
  });

  it('gives null for a file that is missing or not /proc/stat', () => {
    expect(readCpuTicks(join(dir, 'missing'))).toBeNull();
    expect(readCpuTicks(statFile('short', 'cpu 1 2 3'))).toBeNull();
  });

  it.runIf(process.platform === 'linux')(
    'is read from this machine, where the counts only grow',
    async () => {
      const a = loadSnapshot().cpuTicks;
      expect(a).not.toBeNull();
      expect(a?.steal).toBeGreaterThanOrEqual(0);
      expect(a?.total).toBeGreaterThan(a?.steal ?? 0);
      await new Promise((resolve) => setTimeout(resolve, 50)); // at 100 ticks a second, 50 ms is ~5 per CPU
      const b = loadSnapshot().cpuTicks;
      expect(b?.total).toBeGreaterThan(a?.total ?? Number.POSITIVE_INFINITY);
      expect(b?.steal).toBeGreaterThanOrEqual(a?.steal ?? Number.POSITIVE_INFINITY);
    },
  );
});
