/**
 * bench/lib/thread-cpu.ts, which `npm run bench -- tcp` uses to show the CPU time of each
 * end of a move: read from a real child process that burns a known amount of CPU on its
 * main thread, and from this process.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import {
  cpuSince,
  mainThreadCpuMs,
  mainThreadOf,
  readClocks,
  thisMainThread,
} from '../../bench/lib/thread-cpu.ts';

/** Burns 300 ms of its own CPU on its main thread, says so, and waits for stdin to close. */
const BURNER = `
const start = process.cpuUsage();
while (process.cpuUsage(start).user < 300_000) {}
process.stdout.write('burnt\\n');
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
`;

describe.runIf(process.platform === 'linux')('CPU clocks', () => {
  it("count the CPU another process's main thread used, and read null once it is gone", async () => {
    const spawnedAt = performance.now();
    const child = spawn(process.execPath, ['-e', BURNER], { stdio: ['pipe', 'pipe', 'inherit'] });
    const clocks = [mainThreadOf(child.pid)];
    const atStart = readClocks(clocks);
    expect(atStart[0]).not.toBeNull();
    await once(child.stdout, 'data');
    // Read once it has stopped burning (it waits on stdin): its counter is up to date.
    const [burnt] = cpuSince(clocks, atStart);
    // Most of the 300 ms it burnt (some of process.cpuUsage's count went to its other
    // threads); one thread cannot have used more CPU than the wall time since it started.
    expect(burnt).toBeGreaterThan(150);
    expect(burnt).toBeLessThanOrEqual(performance.now() - spawnedAt);
    child.stdin.end();
    await once(child, 'exit');
    expect(mainThreadCpuMs(child.pid)).toBeNull();
    expect(cpuSince(clocks, atStart)).toEqual([null]);
  });

  it("count the CPU this process's main thread used, up to date at every reading", () => {
    const startedAt = performance.now();
    const before = readClocks([thisMainThread]);
    const start = process.cpuUsage();
    while (process.cpuUsage(start).user < 50_000) {}
    const [used] = cpuSince([thisMainThread], before);
    expect(used).toBeGreaterThanOrEqual(50);
    // In ms, and this one thread's: no more than the wall time.
    expect(used).toBeLessThanOrEqual(performance.now() - startedAt);
    // Up to date, not at the last scheduler tick (4 ms apart): 2 ms of busy time between
    // two readings always shows.
    const readings = readClocks([thisMainThread]);
    for (let i = 0; i < 20; i++) {
      const t = performance.now();
      while (performance.now() - t < 2) {}
      const [delta] = cpuSince([thisMainThread], readings);
      expect(delta).toBeGreaterThan(0);
      readings[0] = (readings[0] ?? 0) + (delta ?? 0);
    }
  });

  it('are null for no process, or without a reading to count from', () => {
    expect(mainThreadCpuMs(undefined)).toBeNull();
    expect(cpuSince([mainThreadOf(undefined)], [1])).toEqual([null]);
    expect(cpuSince([thisMainThread], [null])).toEqual([null]);
  });
});
