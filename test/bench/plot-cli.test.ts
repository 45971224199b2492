/** `admove plot` on a real report: a short Opt run with the default trace, then its charts. */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admove } from '../cli/run-cli.ts';

describe('admove plot', () => {
  let dir: string;
  let report: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'admove-plot-'));
    report = join(dir, 'run.json');
    // 4 workers of speeds 1,1,2,4; the default trace vacates h3 and brings it back.
    const r = await admove([
      'opt',
      '--synthetic',
      '1500x16',
      '--iterations',
      '6',
      '--hidden',
      '8',
      '--quiet',
      '--report',
      report,
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  }, 120_000);

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes the three charts into --out, labelled with units', async () => {
    const out = join(dir, 'charts');
    const r = await admove(['plot', report, '--out', out]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect((await readdir(out)).sort()).toEqual([
      'run-redistributions.svg',
      'run-training.svg',
      'run-workers.svg',
    ]);
    for (const f of ['training', 'workers', 'redistributions']) expect(r.stdout).toContain(`run-${f}.svg`);

    const training = await readFile(join(out, 'run-training.svg'), 'utf8');
    expect(training.startsWith('<svg')).toBe(true);
    // The validation curve (error and accuracy) and the iteration whose weights were kept.
    expect(training).toContain('test and validation accuracy (%)');
    expect(training).toContain('training and validation error (mean per exemplar)');
    expect(training).toContain('validation error (left)');
    expect(training).toContain('validation accuracy (right)');
    expect(training).toMatch(/kept: iteration \d+ \(lowest validation error\)/);
    expect(training).toMatch(/\d+ train \+ \d+ validation \/ 300 test/);
    expect(training).toContain('iteration (CG iterations)');
    expect(training.match(/<circle/g)?.length).toBeGreaterThanOrEqual(6); // a dot per iteration

    const workers = await readFile(join(out, 'run-workers.svg'), 'utf8');
    expect(workers).toContain('time since training started (s)');
    expect(workers).toContain('exemplars held (exemplars)');
    expect(workers).toContain('vacate h3');
    expect(workers).toContain('available h3');
    expect(workers).toMatch(/R\d+ evacuate/);
    for (const h of ['h0', 'h1', 'h2', 'h3']) expect(workers).toContain(`${h} (speed`);

    const redistributions = await readFile(join(out, 'run-redistributions.svg'), 'utf8');
    expect(redistributions).toContain('time (ms)');
    expect(redistributions).toContain('obtrusiveness');
    expect(redistributions).toContain('migration cost');
    expect(redistributions.match(/<rect/g)?.length).toBeGreaterThan(4); // background, legend, bars
  });

  it('writes next to the report without --out', async () => {
    const r = await admove(['plot', report]);
    expect(r.code).toBe(0);
    expect(await readdir(dir)).toEqual(expect.arrayContaining(['run-training.svg', 'run-workers.svg']));
  });

  it('says in one line what is wrong with a missing or foreign file', async () => {
    const missing = await admove(['plot', join(dir, 'nope.json')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^admove: .*nope\.json: no such file; check the path\n$/);
    const foreign = join(dir, 'other.json');
    await writeFile(foreign, '{"hello": 1}');
    const r = await admove(['plot', foreign]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/not an admove run report/);
    const none = await admove(['plot']);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/give the report file/);
  });

  it('prints its help', async () => {
    const r = await admove(['plot', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Usage: admove plot RUN\.json \[--out DIR\]/);
  });
});
