/**
 * bench/lib/thread-cpu.ts, which `npm run bench -- tcp` uses to show the CPU time of each
 * end of a move: read from a real child process that burns a known amount of CPU on its
 * main thread.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { cpuSince, mainThreadCpuMs } from '../../bench/lib/thread-cpu.ts';

/** Burns 300 ms of its own CPU on its main thread, says so, and waits for stdin to close. */
const BURNER = `
const start = process.cpuUsage();
while (process.cpuUsage(start).user < 300_000) {}
process.stdout.write('burnt\\n');
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
`;

describe.runIf(process.platform === 'linux')('mainThreadCpuMs', () => {
  it("counts the CPU a process's main thread used, and null once the process is gone", async () => {
    const child = spawn(process.execPath, ['-e', BURNER], { stdio: ['pipe', 'pipe', 'inherit'] });
    const pid = child.pid;
    const atStart = mainThreadCpuMs(pid);
    expect(atStart).not.toBeNull();
    await once(child.stdout, 'data');
    const [burnt] = cpuSince([pid], [atStart]);
    // Most of the 300 ms of user time it burnt after our first reading (some went to its other
    // threads, which process.cpuUsage counts too); not more than it could have used since it started.
    expect(burnt).toBeGreaterThan(150);
    expect(burnt).toBeLessThan(60_000);
    child.stdin.end();
    await once(child, 'exit');
    expect(mainThreadCpuMs(pid)).toBeNull();
    expect(cpuSince([pid], [atStart])).toEqual([null]);
  });

  it('is null for no process', () => {
    expect(mainThreadCpuMs(undefined)).toBeNull();
    expect(cpuSince([undefined], [1])).toEqual([null]);
  });
});
