/**
 * Child processes of `npm run bench -- paper-network`, each inside a network namespace
 * (`ip netns exec NS node …`: `ip` enters the namespace and execs node, so the child's pid
 * is node's own and the `tcp` benchmark's `stop`/`stopAll` end it as they end theirs):
 * the two agents (`admove agent` on their shaped addresses), the raw-send sink in a1's
 * namespace (`tcp-sink.ts` itself, under the loopback preload), the raw sender in a0's
 * (netns-sender.ts) and the coordinator in its own (netns-coordinator.ts). Every child is
 * tracked; a process exit that skipped `stopAll` still kills whatever is left.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { type Child, track } from './tcp-processes.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const CLI = fileURLToPath(new URL('../../apps/cli/admove.mjs', import.meta.url));
const SINK = fileURLToPath(new URL('./tcp-sink.ts', import.meta.url));
const SENDER = fileURLToPath(new URL('./netns-sender.ts', import.meta.url));
const COORDINATOR = fileURLToPath(new URL('./netns-coordinator.ts', import.meta.url));
const LOOPBACK = fileURLToPath(new URL('./netns-loopback.ts', import.meta.url));
/** Loading tsx and the modules, several at once on a busy 2-core machine. */
const START_TIMEOUT_MS = 90_000;

/** A child in a namespace that answers one stdout line per stdin line. */
export interface NetnsChild extends Child {
  /** What the ready line matched. */
  readonly ready: RegExpExecArray;
  /** Write `line`, resolve with the next stdout line (rejects if the child exits first). */
  request(line: string, timeoutMs: number): Promise<string>;
}

/**
 * `ip netns exec NS node …args` with `env` added; resolves once a stdout line matches
 * `ready`. Later stdout lines answer `request`s, in order.
 */
export async function startInNamespace(
  ns: string,
  what: string,
  args: readonly string[],
  ready: RegExp,
  env: Record<string, string> = {},
): Promise<NetnsChild> {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, ...args], {
    cwd: REPO,
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  track(child);
  // A child that died is reported by `request`'s rejection, not by an EPIPE on its stdin.
  child.stdin!.on('error', () => {});
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => {
    stderr = (stderr + d).slice(-4000);
  });
  const lines: string[] = [];
  const waiting: { resolve(line: string): void; reject(e: Error): void }[] = [];
  let exited: Error | null = null;
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const w = waiting.shift();
    if (w) w.resolve(line);
    else lines.push(line);
  });
  child.once('exit', (code, signal) => {
    exited = new Error(
      `${what} exited (${signal ?? code}): ${stderr.trim().split('\n').slice(-5).join(' | ')}`,
    );
    for (const w of waiting.splice(0)) w.reject(exited);
  });
  child.once('error', (e) => {
    exited = e;
    for (const w of waiting.splice(0)) w.reject(e);
  });
  const nextLine = (timeoutMs: number, purpose: string) =>
    new Promise<string>((resolve, reject) => {
      const queued = lines.shift();
      if (queued !== undefined) return resolve(queued);
      if (exited) return reject(exited);
      const timer = setTimeout(() => {
        const k = waiting.indexOf(entry);
        if (k >= 0) waiting.splice(k, 1);
        reject(new Error(`${what}: no answer to ${purpose} within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      const entry = {
        resolve: (l: string) => {
          clearTimeout(timer);
          resolve(l);
        },
        reject: (e: Error) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      waiting.push(entry);
    });
  const handle: Child = { process: child, what, stderrTail: () => stderr.trim() };
  let match: RegExpExecArray | null = null;
  try {
    const deadline = performance.now() + START_TIMEOUT_MS;
    while (match === null) {
      const line = await nextLine(Math.max(1, deadline - performance.now()), 'starting');
      match = ready.exec(line);
    }
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return {
    ...handle,
    ready: match,
    request(line, timeoutMs) {
      const answer = nextLine(timeoutMs, line.slice(0, 60));
      child.stdin!.write(`${line}\n`);
      return answer;
    },
  };
}

export interface NetnsAgent extends NetnsChild {
  readonly name: string;
  readonly endpoint: { readonly host: string; readonly port: number };
}

/** `admove agent --listen ADDRESS:PORT --name NAME --secret-file F` (one worker) in `ns`. */
export async function startNetnsAgent(
  ns: string,
  name: string,
  address: string,
  port: number,
  secretFile: string,
): Promise<NetnsAgent> {
  const c = await startInNamespace(
    ns,
    `agent ${name}`,
    [CLI, 'agent', '--listen', `${address}:${port}`, '--name', name, '--secret-file', secretFile],
    /listening on (\S+):(\d+) /,
  );
  return { ...c, name, endpoint: { host: c.ready[1], port: Number(c.ready[2]) } };
}

/** The `tcp` benchmark's sink (tcp-sink.ts), listening on `address` in `ns`. */
export async function startNetnsSink(
  ns: string,
  address: string,
  mode: 'tcp' | 'tls',
  secretFile?: string,
): Promise<NetnsChild & { readonly port: number }> {
  const c = await startInNamespace(
    ns,
    `${mode} sink`,
    ['--import', 'tsx', '--import', LOOPBACK, SINK, mode, ...(secretFile === undefined ? [] : [secretFile])],
    /^listening (\d+)$/,
    { ADMOVE_NETNS_LOOPBACK_AS: address },
  );
  return { ...c, port: Number(c.ready[1]) };
}

/** A raw sender in `ns` with one open connection to the sink at `peer`:`port`. */
export interface NetnsSender extends NetnsChild {
  /** Ms to send `bytes` (the sink's answer included; see tcp-processes.ts `RawChannel`). */
  send(bytes: number): Promise<number>;
}

export async function startNetnsSender(
  ns: string,
  peer: string,
  port: number,
  mode: 'tcp' | 'tls',
  secretFile?: string,
): Promise<NetnsSender> {
  const c = await startInNamespace(
    ns,
    `${mode} sender`,
    [
      '--import',
      'tsx',
      '--import',
      LOOPBACK,
      SENDER,
      mode,
      String(port),
      ...(secretFile === undefined ? [] : [secretFile]),
    ],
    /^ready$/,
    { ADMOVE_NETNS_LOOPBACK_AS: peer },
  );
  return {
    ...c,
    async send(bytes) {
      // 10 Mbit/s moves ~1.2 MB/s: allow 4× that and a minute.
      const answer = await c.request(String(bytes), 60_000 + (bytes / 1.2e6) * 4000);
      const m = /^sent (\d+) (\S+)$/.exec(answer);
      if (!m || Number(m[1]) !== bytes) throw new Error(`${c.what}: unexpected answer "${answer}"`);
      return Number(m[2]);
    },
  };
}

/** The coordinator (netns-coordinator.ts) in `ns`, knowing the agents and the key. */
export async function startNetnsCoordinator(
  ns: string,
  agents: readonly { host: string; port: number }[],
  secretFile: string,
): Promise<NetnsChild> {
  return startInNamespace(
    ns,
    'coordinator',
    ['--import', 'tsx', COORDINATOR, JSON.stringify(agents), secretFile],
    /^ready$/,
  );
}
