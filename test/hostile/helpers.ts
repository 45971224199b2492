/**
 * Shared pieces of the hostile-input suite: a scratch directory, tiny input files, the
 * one-line-error oracle, the report schema check, and the no-`*.tmp`-left check.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { expect } from 'vitest';
import { admove, type CliResult, REPO } from '../cli/run-cli.ts';

export { admove, type CliResult, REPO };

/** The smallest run that still starts workers and trains: ~2 s on this machine. */
export function tiny(iterations = 1): string[] {
  return ['--synthetic', '200x4', '--workers', '2', '--iterations', String(iterations), '--trace', 'none'];
}
export const TINY = tiny(1);

/** A fresh scratch directory for one test file. */
export function scratch(prefix: string): {
  dir: string;
  file: (name: string, body: string | Buffer) => string;
} {
  const dir = mkdtempSync(join(tmpdir(), `admove-hostile-${prefix}-`));
  return {
    dir,
    file(name, body) {
      const path = join(dir, name);
      writeFileSync(path, body);
      return path;
    },
  };
}

/** A subdirectory (made now) of `dir`. */
export function subdir(dir: string, name: string): string {
  const path = join(dir, name);
  mkdirSync(path, { recursive: true });
  return path;
}

/** A small labelled CSV: `rows` rows of `a,b,c,label`, two classes. */
export function goodCsv(rows = 40): string {
  const lines = Array.from(
    { length: rows },
    (_, i) => `${i % 7},${(i * 3) % 5},${i % 3},${i % 2 ? 'x' : 'y'}`,
  );
  return `a,b,c,label\n${lines.join('\n')}\n`;
}

/**
 * The user-error oracle: exit 2, stderr is exactly one line starting `admove:` that matches
 * `message`, and no stack frame anywhere.
 */
export function expectUserError(r: CliResult, message: RegExp): void {
  const context = `exit ${r.code}\nstderr: ${r.stderr}\nstdout: ${r.stdout.slice(0, 400)}`;
  expect(r.stderr, context).not.toMatch(/\n\s+at /);
  expect(r.stderr.trim().split('\n'), context).toHaveLength(1);
  expect(r.stderr, context).toMatch(/^admove: /);
  expect(r.stderr, context).toMatch(message);
  expect(r.code, context).toBe(2);
}

/** No stack frame in stderr, whatever the outcome. */
export function expectNoStack(r: CliResult): void {
  expect(r.stderr, r.stderr).not.toMatch(/\n\s+at /);
}

/** Any `*.tmp` files left in `dir` (outputs are written via a temporary file). */
export function tmpLeft(dir: string): string[] {
  return readdirSync(dir, { recursive: true })
    .map(String)
    .filter((name) => name.endsWith('.tmp'));
}

const schema = JSON.parse(readFileSync(join(REPO, 'apps/opt/report.schema.json'), 'utf8'));
const validateReport = new Ajv2020({ strict: false }).compile(schema);

/** The report at `path` parses and passes apps/opt/report.schema.json; returns it. */
export function readValidReport(path: string): Record<string, unknown> & {
  status: string;
  final: { testAccuracy: number | null; error: number | null; iterations: number };
} {
  expect(existsSync(path), `${path} was not written`).toBe(true);
  const report = JSON.parse(readFileSync(path, 'utf8'));
  expect(validateReport(report), JSON.stringify(validateReport.errors)).toBe(true);
  return report;
}

/** Resolves when the child has closed its streams and exited. */
export function closed(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
}

/** Collects a child's stderr as text. */
export function collectStderr(child: ChildProcess): () => string {
  let text = '';
  child.stderr?.on('data', (d) => {
    text += d;
  });
  return () => text;
}

/**
 * Start `admove …` with stdout to a reader that closes its end after the first chunk,
 * like `admove … | head -1`.
 */
export function admoveIntoClosedPipe(args: readonly string[], timeoutMs = 120_000): Promise<CliResult> {
  const cli = join(REPO, 'apps/cli/admove.mjs');
  const child = spawn(process.execPath, [cli, ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  child.stdout.once('data', (d) => {
    stdout += d;
    child.stdout.destroy();
  });
  const stderr = collectStderr(child);
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return closed(child).then(({ code }) => {
    clearTimeout(timer);
    return { code, stdout, stderr: stderr() };
  });
}

/** Waits until `test()` holds, polling; false after `timeoutMs`. */
export async function until(test: () => boolean, timeoutMs: number, everyMs = 10): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (test()) return true;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return test();
}
