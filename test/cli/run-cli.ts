import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
const CLI = fileURLToPath(new URL('../../apps/cli/admove.mjs', import.meta.url));

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Run `node …args` in the repository as a real child process; killed after `timeoutMs`.
 * `stdin`, if given, is written to it and closed.
 */
export function runNode(args: readonly string[], timeoutMs: number, stdin?: string): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...args], {
      cwd: REPO,
      stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    if (stdin !== undefined) child.stdin?.end(stdin);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d) => {
      stdout += d;
    });
    child.stderr?.on('data', (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Run `admove …` as a real child process, as a user would (with `stdin` typed in, if given). */
export function admove(args: readonly string[], timeoutMs = 120_000, stdin?: string): Promise<CliResult> {
  return runNode([CLI, ...args], timeoutMs, stdin);
}

/** Start `admove …` and return the child, for tests that signal or kill it. */
export function spawnAdmove(args: readonly string[]): ChildProcess {
  return spawn(process.execPath, [CLI, ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** A running `admove …`: what it printed so far, a wait for a line, and its exit code. */
export interface WatchedRun {
  readonly child: ChildProcess;
  out(): string;
  err(): string;
  /** Resolves true once stdout matches `pattern`, false if `timeoutMs` passes first. */
  waitFor(pattern: RegExp, timeoutMs: number): Promise<boolean>;
  /** The exit code (null if killed by a signal). */
  readonly done: Promise<number | null>;
}

export function watchAdmove(args: readonly string[]): WatchedRun {
  const child = spawnAdmove(args);
  let out = '';
  let err = '';
  child.stdout?.on('data', (d) => {
    out += d;
  });
  child.stderr?.on('data', (d) => {
    err += d;
  });
  const done = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return {
    child,
    out: () => out,
    err: () => err,
    done,
    async waitFor(pattern, timeoutMs) {
      const until = Date.now() + timeoutMs;
      while (!pattern.test(out) && Date.now() < until) await new Promise((r) => setTimeout(r, 25));
      return pattern.test(out);
    },
  };
}
