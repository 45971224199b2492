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
  events: { type: string; replayed?: true }[];
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
    // The default trace's vacate (a third of the way) came before the checkpoint: the resumed
    // run sent it again to put the hosts back, and its report says so; the straight run's not.
    expect(r.events.filter((e) => e.replayed).map((e) => e.type)).toContain('vacate');
    expect(s.events.some((e) => e.replayed !== undefined)).toBe(false);
  }, 180_000);

  it('resumes the best-weights bookkeeping and patience exactly (a run that stops early)', async () => {
    // Synthetic data whose validation error stops falling within the run; no trace, so the
    // two halves of the resumed run play the same (empty) trace as the whole one.
    const flags = ['opt', '--synthetic', '1500x8', '--classes', '3', '--hidden', '6', '--quiet'];
    const run = [...flags, '--trace', 'none', '--patience', '3', '--validation-fraction', '0.2'];
    const straight = join(dir, 'patience-straight.json');
    const s = await admove([...run, '--iterations', '60', '--report', straight]);
    expect(s.code, s.stderr).toBe(0);
    const whole = read(straight) as Report & {
      final: { bestIteration: number; stoppedEarly: boolean };
    };
    expect(whole.final.stoppedEarly).toBe(true);
    const stop = whole.final.iterations;
    const bestAt = whole.final.bestIteration;
    expect(stop - bestAt).toBe(3);
    // Interrupted after the best iteration and before patience ran out: the checkpoint holds
    // best weights that are not the current ones and a patience counter part-way up.
    const checkpoint = join(dir, 'patience.ckpt');
    const first = await admove([...run, '--iterations', String(bestAt + 1), '--checkpoint', checkpoint]);
    expect(first.code, first.stderr).toBe(0);
    const saved = JSON.parse(readFileSync(checkpoint, 'utf8')) as {
      best: { iteration: number; sinceBest: number };
    };
    expect(saved.best).toMatchObject({ iteration: bestAt, sinceBest: 1 });
    const resumed = join(dir, 'patience-resumed.json');
    const second = await admove([...run, '--iterations', '60', '--resume', checkpoint, '--report', resumed]);
    expect(second.code, second.stderr).toBe(0);
    const r = read(resumed) as typeof whole;
    expect(r.final.iterations).toBe(stop);
    expect(r.final.bestIteration).toBe(bestAt);
    expect(r.final.stoppedEarly).toBe(true);
    expect(Math.abs(r.final.error - whole.final.error) / whole.final.error).toBeLessThan(1e-9);
    expect(r.final.testAccuracy).toBe(whole.final.testAccuracy);
    // A checkpoint written as patience ran out resumes to the same end, without a step.
    const last = join(dir, 'patience-end.ckpt');
    expect((await admove([...run, '--iterations', '60', '--checkpoint', last])).code).toBe(0);
    const ended = join(dir, 'patience-ended.json');
    expect((await admove([...run, '--iterations', '60', '--resume', last, '--report', ended])).code).toBe(0);
    expect(read(ended).final).toMatchObject({ iterations: stop, bestIteration: bestAt, stoppedEarly: true });
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
