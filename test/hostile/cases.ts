/**
 * The hostile suite's case runner: each case is a real `admove` child process with a table
 * row for an oracle. Rules checked on every case:
 *  (a) a user error stops before any work: nothing on stdout (no data loaded, no worker started);
 *  (b) outputs are whole and valid (a report passes report.schema.json) or absent, and no
 *      `*.tmp` is left in the scratch directory;
 *  (c) no stack trace; a user error is one line `admove: …` matching the case's regex, exit 2.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { expect } from 'vitest';
import { admove, type CliResult, expectNoStack, expectUserError, readValidReport } from './helpers.ts';

export type Outcome =
  /** A user error: exit 2 and one line matching this. */
  | RegExp
  /** Success: exit 0; these reports must be valid, these models whole, these files absent. */
  | { ok: true; reports?: string[]; models?: string[]; absent?: string[]; stdout?: RegExp };

export interface Case {
  readonly name: string;
  readonly args: readonly string[];
  readonly outcome: Outcome;
  /** Files that must not exist afterwards (an output refused before any work). */
  readonly absent?: readonly string[];
}

export async function runCase(c: Case, _scratchDir: string, timeoutMs = 60_000): Promise<CliResult> {
  const r = await admove(c.args, timeoutMs);
  expectNoStack(r);
  if (c.outcome instanceof RegExp) {
    expectUserError(r, c.outcome);
    expect(r.stdout, 'a user error must stop before any work (rule a)').toBe('');
  } else {
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    for (const path of c.outcome.reports ?? []) readValidReport(path);
    for (const path of c.outcome.models ?? []) {
      expect(JSON.parse(readFileSync(path, 'utf8')).format).toBe('admove-opt-model');
    }
    if (c.outcome.stdout) expect(r.stdout).toMatch(c.outcome.stdout);
    for (const path of c.outcome.absent ?? []) expect(existsSync(path), path).toBe(false);
  }
  for (const path of c.absent ?? []) expect(existsSync(path), `${path} must not be written`).toBe(false);
  expect(tmpLeftBy(c.args)).toEqual([]);
  return r;
}

const OUTPUT_FLAGS = new Set(['--report', '--save-model', '--checkpoint', '--out']);

/**
 * Temporary files left next to this case's own outputs (cases run concurrently in one
 * scratch directory, so another case's write in progress must not count).
 */
export function tmpLeftBy(args: readonly string[]): string[] {
  const left: string[] = [];
  args.forEach((arg, i) => {
    const path = OUTPUT_FLAGS.has(arg) ? args[i + 1] : undefined;
    if (path === undefined) return;
    const candidates = [dirname(path), path];
    for (const where of candidates) {
      if (!existsSync(where) || !statSync(where).isDirectory()) continue;
      for (const name of readdirSync(where)) {
        const full = join(where, name);
        if (name.endsWith('.tmp') && (where === path || full.startsWith(`${path}.`))) left.push(full);
      }
    }
  });
  return left;
}

/**
 * `npm test` runs every `stride`-th case of a table (each table is ordered by category, so
 * every category keeps cases); `ADMOVE_HOSTILE=full npm test` runs them all. Each case is a
 * child process that pays ~1 s of CPU for tsx alone, and the machine has two cores.
 */
export function sample<T>(cases: readonly T[], stride: number): T[] {
  if (process.env['ADMOVE_HOSTILE'] === 'full') return [...cases];
  return cases.filter((_, i) => i % stride === 0);
}
