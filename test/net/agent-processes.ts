/** Real agent processes for tests: started on a free loopback port, killed at the end. */
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../apps/cli/admove.mjs', import.meta.url));
const REPO = fileURLToPath(new URL('../../', import.meta.url));

export interface AgentProcess {
  readonly child: ChildProcess;
  readonly address: string;
  readonly port: number;
  /** Everything the agent wrote to stderr so far (its log). */
  log(): string;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Start `admove agent --listen 127.0.0.1:0 …args` and wait until it says where it listens.
 * `pin`: run it under `taskset -c PIN` (a CPU list), so it may use only those cores.
 */
export function startAgent(args: readonly string[] = [], pin?: string): Promise<AgentProcess> {
  const command = [process.execPath, CLI, 'agent', '--listen', '127.0.0.1:0', ...args];
  if (pin !== undefined) command.unshift('taskset', '-c', pin);
  const child = spawn(command[0], command.slice(1), {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr?.on('data', (d) => {
    err += d;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`agent did not start: ${out} ${err}`));
    }, 30_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`agent exited with ${code}: ${err}`));
    });
    child.stdout?.on('data', (d) => {
      out += d;
      const m = /listening on (127\.0\.0\.1):(\d+)/.exec(out);
      if (!m) return;
      clearTimeout(timer);
      const port = Number(m[2]);
      resolve({
        child,
        port,
        address: `127.0.0.1:${port}`,
        log: () => err,
        kill: (signal = 'SIGTERM') => {
          if (child.exitCode === null && child.signalCode === null) child.kill(signal);
          return exited;
        },
      });
    });
  });
}

/** Start `n` agents (`args(k)` for agent k); all killed again if one fails to start. */
export async function startAgents(
  n: number,
  args: (k: number) => string[] = () => [],
): Promise<AgentProcess[]> {
  const started = await Promise.allSettled(Array.from({ length: n }, (_, k) => startAgent(args(k))));
  const agents = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = started.find((s) => s.status === 'rejected');
  if (failed) {
    await stopAgents(agents);
    throw (failed as PromiseRejectedResult).reason;
  }
  return agents;
}

export async function stopAgents(agents: readonly AgentProcess[]): Promise<void> {
  await Promise.all(agents.map((a) => a.kill('SIGKILL')));
}

/** A secret file of `text`, mode 600, in a fresh directory. */
export function secretFile(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'admove-secret-'));
  const path = join(dir, 'secret');
  writeFileSync(path, text);
  chmodSync(path, 0o600);
  return path;
}
