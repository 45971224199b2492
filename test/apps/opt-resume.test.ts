import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { admove, spawnAdmove } from '../cli/run-cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'admove-resume-'));
const FLAGS = ['opt', '--hidden', '24', '--quiet'];
const TEN = ['--iterations', '10'];

interface Report {
  status: string;
  final: { error: number; testAccuracy: number; iterations: number };
  iterations: { iteration: number }[];
  resumedFrom?: { iteration: number };
}
const read = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as Report;

describe('a crashed coordinator resumes from its last checkpoint', () => {
  it('reaches the same result as an uninterrupted run (error to 1e-9, same test accuracy)', async () => {
    const checkpoint = join(dir, 'opt.ckpt');
    // The crash: SIGKILL (no clean-up at all) once a checkpoint past iteration 3 is on disk.
    const child = spawnAdmove([...FLAGS, ...TEN, '--checkpoint', checkpoint, '--checkpoint-every', '2']);
    let killedAt = -1;
    while (child.exitCode === null) {
      if (existsSync(checkpoint)) {
        const { iteration } = JSON.parse(readFileSync(checkpoint, 'utf8')) as { iteration: number };
        if (iteration >= 4) {
          killedAt = iteration;
          child.kill('SIGKILL');
          break;
        }
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(killedAt).toBeGreaterThanOrEqual(4);
    await new Promise((r) => child.once('close', r));

    const resumed = join(dir, 'resumed.json');
    const straight = join(dir, 'straight.json');
    const a = await admove([...FLAGS, ...TEN, '--resume', checkpoint, '--report', resumed]);
    expect(a.stderr).toBe('');
    const b = await admove([...FLAGS, ...TEN, '--report', straight]);
    expect(b.code).toBe(0);
    const r = read(resumed);
    const s = read(straight);
    expect(r.resumedFrom?.iteration).toBe(killedAt);
    expect(r.iterations.map((i) => i.iteration)).toEqual(s.iterations.map((i) => i.iteration));
    expect(Math.abs(r.final.error - s.final.error) / s.final.error).toBeLessThan(1e-9);
    expect(r.final.testAccuracy).toBe(s.final.testAccuracy);
  }, 180_000);

  it('stops cleanly on SIGTERM: report marked interrupted, checkpoint complete, exit 143', async () => {
    const checkpoint = join(dir, 'term.ckpt');
    const report = join(dir, 'term.json');
    const child = spawnAdmove([
      ...FLAGS,
      '--iterations',
      '200',
      '--checkpoint',
      checkpoint,
      '--report',
      report,
    ]);
    let stdout = '';
    child.stdout?.on('data', (d) => {
      stdout += d;
    });
    while (!existsSync(checkpoint)) await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGTERM');
    const code = await new Promise((r) => child.once('close', r));
    expect(code).toBe(143);
    const run = read(report);
    expect(run.status).toBe('interrupted');
    expect(run.final.iterations).toBeLessThan(200);
    const saved = JSON.parse(readFileSync(checkpoint, 'utf8')) as { iteration: number };
    expect(saved.iteration).toBe(run.final.iterations);
    expect(stdout).toMatch(/continue with --resume/);
  }, 180_000);

  it('refuses a checkpoint made with other settings', async () => {
    const checkpoint = join(dir, 'opt.ckpt');
    const r = await admove(['opt', '--hidden', '12', '--resume', checkpoint]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--resume .*other data or settings/);
  });
});
