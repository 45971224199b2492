/**
 * Child processes of `npm run bench -- tcp`: host agents (`admove agent`, real processes on
 * loopback) and the raw-send sink (tcp-sink.ts), and the raw sends to that sink. Every
 * child is tracked: `stopAll` ends them (SIGTERM, then SIGKILL), and a process exit that
 * skipped it still kills whatever is left, so no run leaves a process behind.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect as plainConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KEEP_FREED_MEMORY_ENV } from '../../framework/agent/freed-memory.ts';
import type { Endpoint } from '../../framework/index.ts';
import { connect as framedConnect, readSecretFile } from '../../framework/net/secure-socket.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const CLI = fileURLToPath(new URL('../../apps/cli/admove.mjs', import.meta.url));
const SINK = fileURLToPath(new URL('./tcp-sink.ts', import.meta.url));
/** Loading tsx and the agent's modules on a busy 2-core machine can take several seconds. */
const START_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 5_000;

/**
 * The size of one write of the raw TCP sends: as the framework's messages of a move (4 ~1 MB
 * batches, one writev each). With 1 MB writes the raw send was the slower pattern: a 100 MB
 * move took 29.7 ms against a 35.0 ms raw send (bench tcp, 11:21 UTC), below its floor.
 */
export const WRITE_BYTES = 4 << 20;
/** The size of one frame of the raw TLS sends: as the framework's (one per ~1 MB batch). */
export const TLS_FRAME_BYTES = 1 << 20;

const children = new Set<ChildProcess>();
let exitHookInstalled = false;

/**
 * Remember `child` until it exits: a process exit that skipped `stopAll` kills it, and so
 * does Ctrl-C or SIGTERM mid-run (they exit through the 'exit' hooks — also netns-topology's,
 * which removes the namespaces — instead of leaving children behind).
 */
export function track(child: ChildProcess): void {
  children.add(child);
  child.once('exit', () => children.delete(child));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const c of children) c.kill('SIGKILL');
    });
    for (const signal of ['SIGINT', 'SIGTERM'] as const)
      process.once(signal, () => process.exit(signal === 'SIGINT' ? 130 : 143));
  }
}

/** A started child and the tail of what it wrote on stderr (for error messages). */
export interface Child {
  readonly process: ChildProcess;
  readonly what: string;
  stderrTail(): string;
}

/**
 * Spawn `node …args`, wait for a stdout line matching `ready`, and return the match. The
 * child is killed if it does not get there.
 */
export async function startChild(
  what: string,
  args: readonly string[],
  ready: RegExp,
  env: Readonly<Record<string, string>> = {},
) {
  const child = spawn(process.execPath, [...args], {
    cwd: REPO,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  track(child);
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => {
    stderr = (stderr + d).slice(-4000);
  });
  const handle: Child = { process: child, what, stderrTail: () => stderr.trim() };
  try {
    const match = await new Promise<RegExpExecArray>((resolve, reject) => {
      let stdout = '';
      const timer = setTimeout(
        () => reject(new Error(`${what} did not start within ${START_TIMEOUT_MS / 1000} s`)),
        START_TIMEOUT_MS,
      );
      child.stdout!.setEncoding('utf8');
      child.stdout!.on('data', (d: string) => {
        stdout += d;
        const m = ready.exec(stdout);
        if (m) {
          clearTimeout(timer);
          resolve(m);
        }
      });
      child.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`${what} exited (${signal ?? code}) before it was ready: ${stderr.trim()}`));
      });
    });
    return { handle, match };
  } catch (error) {
    await stop(handle);
    throw error;
  }
}

/** SIGTERM, then SIGKILL after a grace period; resolves once the child has exited. */
export async function stop(child: Child): Promise<void> {
  const p = child.process;
  if (p.exitCode !== null || p.signalCode !== null) return;
  const exited = once(p, 'exit');
  p.kill('SIGTERM');
  const timer = setTimeout(() => p.kill('SIGKILL'), STOP_GRACE_MS);
  await exited;
  clearTimeout(timer);
}

export async function stopAll(list: readonly Child[]): Promise<void> {
  await Promise.allSettled(list.map(stop));
}

export interface AgentProcess extends Child {
  readonly name: string;
  readonly endpoint: Endpoint;
}

/**
 * `admove agent --listen 127.0.0.1:0 --name NAME --receive-pool` (one worker), TLS when given
 * a secret file. With the receive pool and the freed-memory settings (framework/agent/freed-memory.ts):
 * the fastest way agents take a move in (neither is the default).
 */
export async function startAgent(name: string, secretFile?: string): Promise<AgentProcess> {
  const { handle, match } = await startChild(
    `agent ${name}`,
    [
      CLI,
      'agent',
      '--listen',
      '127.0.0.1:0',
      '--name',
      name,
      '--receive-pool',
      ...(secretFile === undefined ? [] : ['--secret-file', secretFile]),
    ],
    /listening on (\S+):(\d+) /,
    // As the README advises for agents with a receive pool: freed memory is kept, warm.
    KEEP_FREED_MEMORY_ENV,
  );
  return { ...handle, name, endpoint: { host: match[1], port: Number(match[2]) } };
}

export interface SinkProcess extends Child {
  readonly port: number;
  readonly mode: 'tcp' | 'tls';
}

/** The raw-send receiver (tcp-sink.ts) in a process of its own. */
export async function startSink(mode: 'tcp' | 'tls', secretFile?: string): Promise<SinkProcess> {
  const { handle, match } = await startChild(
    `${mode} sink`,
    ['--import', 'tsx', SINK, mode, ...(secretFile === undefined ? [] : [secretFile])],
    /listening (\d+)\n/,
  );
  return { ...handle, mode, port: Number(match[1]) };
}

/** A fresh pre-shared key file (mode 600) in a temporary folder; `remove` deletes both. */
export async function makeSecretFile(): Promise<{ path: string; secret: Buffer; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'admove-bench-tcp-'));
  const path = join(dir, 'secret');
  await writeFile(path, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
  return {
    path,
    // Read back as the agents read it (--secret-file), so both ends hold the same bytes.
    secret: await readSecretFile(path),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

/**
 * `bytes` bytes whose pages exist (the raw sends read real memory, as a move does): each
 * 4 KiB chunk filled with its index mod 256. (Until 2026-12-01 it was `i & 255`, 0 for every
 * chunk start `i`: all zero bytes, which loopback TCP carries at the same cost.)
 */
export function payload(bytes: number): Buffer {
  const b = Buffer.allocUnsafe(bytes);
  for (let i = 0; i < bytes; i += 4096) b.fill((i >>> 12) & 255, i, Math.min(bytes, i + 4096));
  return b;
}

/** One connection to the sink, kept open for many timed sends (as the job's connections are). */
export interface RawChannel {
  /** Ms from the first write of `data` until the sink's answer that it has every byte. */
  send(data: Uint8Array): Promise<number>;
  close(): void;
}

/**
 * A plain TCP connection to the sink (connecting is not timed). Each send: an 8-byte length,
 * then `data` in writes of `WRITE_BYTES`, each waiting for the socket to drain when full;
 * timed from the first write until the sink's one-byte answer.
 */
export async function openRawTcp(port: number): Promise<RawChannel> {
  const socket = plainConnect({ host: '127.0.0.1', port });
  try {
    await once(socket, 'connect');
  } catch (error) {
    socket.destroy();
    throw error;
  }
  socket.setNoDelay(true);
  // A sink that closes the connection without an error would leave a send waiting forever
  // for its answer or a drain: the close aborts whatever a send awaits.
  const closed = new AbortController();
  const { signal } = closed;
  socket.once('close', () => closed.abort(new Error('the raw TCP sink closed the connection')));
  return {
    async send(data) {
      signal.throwIfAborted();
      const header = Buffer.alloc(8);
      header.writeBigUInt64LE(BigInt(data.byteLength));
      const reply = once(socket, 'data', { signal });
      reply.catch(() => {}); // awaited below; a failed write must not leave it unhandled
      const t = performance.now();
      socket.write(header);
      for (let off = 0; off < data.byteLength; off += WRITE_BYTES) {
        if (!socket.write(data.subarray(off, off + WRITE_BYTES))) await once(socket, 'drain', { signal });
      }
      await reply;
      return performance.now() - t;
    },
    close: () => socket.destroy(),
  };
}

/**
 * admove's TLS 1.3 with the pre-shared key to the sink (secure-socket.ts `connect`; the
 * handshake is not timed). Each send: a small JSON frame announcing the length, then `data`
 * in binary frames of `TLS_FRAME_BYTES` (`FramedConnection.sendBytes`); timed from the first
 * frame until the sink's answer.
 */
export async function openRawTls(port: number, secret: Buffer): Promise<RawChannel> {
  const conn = await framedConnect({ host: '127.0.0.1', port }, { secret });
  const waiting: { resolve(): void; reject(e: Error): void }[] = [];
  conn.onFrame((frame) => {
    if (frame.kind === 'json') waiting.shift()?.resolve();
  });
  conn.onClose((reason) => {
    for (const w of waiting.splice(0)) w.reject(reason ?? new Error('the TLS sink closed the connection'));
  });
  return {
    async send(data) {
      const reply = new Promise<void>((resolve, reject) => waiting.push({ resolve, reject }));
      reply.catch(() => {}); // awaited below; a failed send must not leave it unhandled
      const t = performance.now();
      await conn.sendJson({ bytes: data.byteLength });
      for (let off = 0; off < data.byteLength; off += TLS_FRAME_BYTES) {
        await conn.sendBytes(data.subarray(off, off + TLS_FRAME_BYTES));
      }
      await reply;
      return performance.now() - t;
    },
    close: () => conn.destroy(),
  };
}
