import { execFileSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, connect as rawConnect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { UserError } from '../../framework/errors.ts';
import { type FramedConnection, FrameError } from '../../framework/net/frames.ts';
import {
  connect,
  type Endpoint,
  formatEndpoint,
  isLoopback,
  type Listener,
  listen,
  parseEndpoint,
  readSecretFile,
} from '../../framework/net/secure-socket.ts';
import { until as waitUntil } from '../fixtures/until.ts';

const SECRET = Buffer.from('correct horse battery staple 0123456789');
const WRONG_SECRET = Buffer.from('incorrect horse battery staple 987654');

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const until = (condition: () => boolean, timeoutMs = 5000) => waitUntil(condition, timeoutMs, 2);

/** A listener that echoes every JSON frame as { echo } and every bytes frame as its length. */
async function echoListener(secret?: Buffer): Promise<{
  listener: Listener;
  accepted: FramedConnection[];
  rejected: { remote: string; reason: string }[];
  closeReasons: (Error | null)[];
}> {
  const accepted: FramedConnection[] = [];
  const rejected: { remote: string; reason: string }[] = [];
  const closeReasons: (Error | null)[] = [];
  const listener = await listen({
    host: '127.0.0.1',
    port: 0,
    secret,
    onConnection: (conn) => {
      accepted.push(conn);
      conn.onFrame((frame) => {
        const reply = frame.kind === 'json' ? { echo: frame.value } : { length: frame.bytes.length };
        conn.sendJson(reply).catch(() => {});
      });
      conn.onClose((reason) => closeReasons.push(reason));
    },
    onRejected: (remote, reason) => rejected.push({ remote, reason }),
  });
  cleanups.push(() => listener.close());
  return { listener, accepted, rejected, closeReasons };
}

function nextJson(conn: FramedConnection): Promise<unknown> {
  return new Promise((resolve) =>
    conn.onFrame((frame) => resolve(frame.kind === 'json' ? frame.value : null)),
  );
}

async function roundTrip(conn: FramedConnection, value: unknown): Promise<unknown> {
  const reply = nextJson(conn);
  await conn.sendJson(value);
  return reply;
}

describe('endpoints', () => {
  it('parses HOST:PORT and [IPv6]:PORT', () => {
    expect(parseEndpoint('127.0.0.1:7000', '--agent')).toEqual({ host: '127.0.0.1', port: 7000 });
    expect(parseEndpoint('node-3.example:0', '--listen', true)).toEqual({ host: 'node-3.example', port: 0 });
    expect(parseEndpoint('[::1]:65535', '--agent')).toEqual({ host: '::1', port: 65535 });
  });

  it('rejects anything else with a UserError naming the flag', () => {
    for (const text of [
      '127.0.0.1',
      '127.0.0.1:',
      ':7000',
      '::1:7000',
      '[::1]7000',
      'host:65536',
      'host:-1',
      'host:7e3',
      '[nonsense]:1',
      'a b:1',
    ]) {
      expect(() => parseEndpoint(text, '--agent')).toThrow(UserError);
    }
    expect(() => parseEndpoint('host:99999', '--agent')).toThrow(
      '--agent: "host:99999": port 99999 is out of range (1–65535)',
    );
    // Port 0 is "any free port": for a listener, not for an address to connect to.
    expect(() => parseEndpoint('127.0.0.1:0', '--hosts')).toThrow(
      '--hosts: "127.0.0.1:0": port 0 is out of range (1–65535)',
    );
    expect(parseEndpoint('127.0.0.1:0', '--listen', true)).toEqual({ host: '127.0.0.1', port: 0 });
  });

  it('formats back to what it parsed', () => {
    for (const text of ['127.0.0.1:7000', '[::1]:80', 'example.org:1']) {
      expect(formatEndpoint(parseEndpoint(text, 'x'))).toBe(text);
    }
  });

  it('knows loopback addresses', () => {
    for (const host of [
      'localhost',
      'LOCALHOST',
      '127.0.0.1',
      '127.8.9.10',
      '::1',
      '[::1]',
      '0:0:0:0:0:0:0:1',
      '::ffff:127.0.0.1',
    ]) {
      expect(isLoopback(host), host).toBe(true);
    }
    for (const host of [
      '0.0.0.0',
      '::',
      '10.0.0.1',
      '128.0.0.1',
      '::2',
      '::ffff:10.0.0.1',
      'example.org',
      '',
    ]) {
      expect(isLoopback(host), host).toBe(false);
    }
  });
});

describe('readSecretFile', () => {
  async function secretFile(contents: string, mode: number): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'admove-secret-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const path = join(dir, 'secret');
    await writeFile(path, contents);
    await chmod(path, mode);
    return path;
  }

  it('returns the trimmed bytes of a private file', async () => {
    const path = await secretFile('  0123456789abcdef0123\n', 0o600);
    expect((await readSecretFile(path)).toString()).toBe('0123456789abcdef0123');
  });

  it('refuses a missing file', async () => {
    const path = join(tmpdir(), 'admove-no-such-secret-file');
    await expect(readSecretFile(path)).rejects.toThrow(new UserError(`secret file ${path} does not exist`));
  });

  it('refuses an empty or whitespace-only file', async () => {
    const path = await secretFile(' \n\t\n', 0o600);
    await expect(readSecretFile(path)).rejects.toThrow(new UserError(`secret file ${path} is empty`));
  });

  it('refuses a secret shorter than 16 bytes', async () => {
    const path = await secretFile('short\n', 0o600);
    await expect(readSecretFile(path)).rejects.toThrow(/holds 5 bytes; at least 16 are needed/);
  });

  // Found by a hostile test: a FIFO hung the agent in open() for good; a directory of mode
  // 755 was called readable by others; a 200 MB file was read whole.
  it('refuses a FIFO at once, a directory as a directory, and a file too large for a key', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'admove-secret-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', ['-m', '600', fifo]);
    await expect(readSecretFile(fifo)).rejects.toThrow(
      new UserError(`secret file ${fifo} is not a regular file`),
    );
    const sub = join(dir, 'sub');
    await mkdir(sub, { mode: 0o755 });
    await expect(readSecretFile(sub)).rejects.toThrow(
      new UserError(`secret file ${sub} is a directory, not a file`),
    );
    const big = await secretFile('x'.repeat(70_000), 0o600);
    await expect(readSecretFile(big)).rejects.toThrow(/holds 70000 bytes, too many for a key/);
  });

  it('refuses a file others can read, saying how to fix it', async () => {
    const path = await secretFile('0123456789abcdef0123', 0o644);
    const error = await readSecretFile(path).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(UserError);
    expect((error as Error).message).toContain(`chmod 600 ${path}`);
    expect((error as Error).message).not.toContain('\n');
  });
});

describe('plain listen and connect', () => {
  it('refuses a non-loopback address without a secret, before binding', async () => {
    // Hold a port on 0.0.0.0: binding first would fail with "in use", not with the refusal.
    const holder: Server = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '0.0.0.0', resolve));
    cleanups.push(() => new Promise<void>((resolve) => holder.close(() => resolve())));
    const port = (holder.address() as { port: number }).port;
    await expect(listen({ host: '0.0.0.0', port, onConnection: () => {} })).rejects.toThrow(
      new UserError(
        'refusing to listen on 0.0.0.0 without --secret-file: without a secret only loopback addresses are allowed',
      ),
    );
  });

  it('reports a port in use as a UserError', async () => {
    const { listener } = await echoListener();
    await expect(
      listen({ host: '127.0.0.1', port: listener.address.port, onConnection: () => {} }),
    ).rejects.toThrow(/cannot listen on 127\.0\.0\.1:\d+: the port is in use/);
  });

  it('picks a free port for port 0 and round-trips frames', async () => {
    const { listener } = await echoListener();
    expect(listener.address.host).toBe('127.0.0.1');
    expect(listener.address.port).toBeGreaterThan(0);
    const client = await connect(listener.address);
    expect(client.remote).toBe(formatEndpoint(listener.address));
    expect(await roundTrip(client, 'hi')).toEqual({ echo: 'hi' });
    client.close();
  });

  it('says a refused connection is refused', async () => {
    const { listener } = await echoListener();
    const endpoint: Endpoint = listener.address;
    await listener.close();
    await expect(connect(endpoint)).rejects.toThrow(
      `could not connect to ${formatEndpoint(endpoint)}: connection refused (is the agent running?)`,
    );
  });

  it('closing the listener closes the connections it handed out', async () => {
    const { listener } = await echoListener();
    const client = await connect(listener.address);
    const reason = new Promise<Error | null>((resolve) => client.onClose(resolve));
    await roundTrip(client, 1);
    await listener.close();
    expect(await reason).toBeNull();
  });
});

describe('TLS with a pre-shared key', () => {
  it('round-trips JSON and bytes with the right secret', async () => {
    const { listener, rejected } = await echoListener(SECRET);
    const client = await connect(listener.address, { secret: SECRET });
    expect(await roundTrip(client, { over: 'tls' })).toEqual({ echo: { over: 'tls' } });
    const reply = nextJson(client);
    await client.sendBytes([new Uint8Array(100_000), new Uint8Array(3)]);
    expect(await reply).toEqual({ length: 100_003 });
    expect(rejected).toEqual([]);
    client.close();
  });

  it('rejects a wrong secret in one line, then serves a right one', async () => {
    const { listener, rejected, accepted } = await echoListener(SECRET);
    const error = await connect(listener.address, { secret: WRONG_SECRET }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toBe(
      `could not connect to ${formatEndpoint(listener.address)}: TLS handshake failed (wrong secret?)`,
    );
    await until(() => rejected.length === 1);
    expect(rejected[0].reason).toBe('TLS handshake failed: wrong secret');
    expect(rejected[0].remote).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(accepted).toHaveLength(0);
    const client = await connect(listener.address, { secret: SECRET });
    expect(await roundTrip(client, 'after')).toEqual({ echo: 'after' });
    client.close();
  });

  it('turns a plain client away cleanly and keeps serving', async () => {
    const { listener, rejected, accepted } = await echoListener(SECRET);
    const plain = await connect(listener.address);
    const closed = new Promise<Error | null>((resolve) => plain.onClose(resolve));
    await plain.sendJson('hello?').catch(() => {});
    await closed;
    await until(() => rejected.length === 1);
    expect(rejected[0].reason).toBe('not a TLS client (is it running without --secret-file?)');
    expect(accepted).toHaveLength(0);
    const client = await connect(listener.address, { secret: SECRET });
    expect(await roundTrip(client, 'still here')).toEqual({ echo: 'still here' });
    client.close();
  });

  it('closes a connection whose handshake never starts once the stall limit has passed', async () => {
    // Found by a hostile test: 100 silent clients were logged as timed out after 10 s, but
    // their sockets stayed open (and the agent's descriptors with them) until they left.
    const rejected: string[] = [];
    const listener = await listen({
      host: '127.0.0.1',
      port: 0,
      secret: SECRET,
      stallMs: 300,
      onConnection: () => {},
      onRejected: (_remote, reason) => rejected.push(reason),
    });
    cleanups.push(() => listener.close());
    const silent: Socket = rawConnect({ host: '127.0.0.1', port: listener.address.port });
    silent.on('error', () => {});
    const closedAt = await new Promise<number>((resolve) =>
      silent.once('close', () => resolve(performance.now())),
    );
    expect(rejected).toEqual(['TLS handshake timed out']);
    expect(closedAt).toBeGreaterThan(0);
  });

  it('turns 1 MiB of garbage away and keeps serving', async () => {
    const { listener, rejected } = await echoListener(SECRET);
    const garbage: Socket = rawConnect({ host: '127.0.0.1', port: listener.address.port });
    garbage.on('error', () => {});
    garbage.write(randomFillSync(Buffer.alloc(1 << 20)));
    await until(() => rejected.length === 1);
    const client = await connect(listener.address, { secret: SECRET });
    expect(await roundTrip(client, 1)).toEqual({ echo: 1 });
    client.close();
    garbage.destroy();
  });

  it('a TLS client to a plain listener fails in one line; the listener sees a FrameError', async () => {
    const { listener, closeReasons } = await echoListener();
    const error = await connect(listener.address, { secret: SECRET }).catch((caught: unknown) => caught);
    expect((error as Error).message).toBe(
      `could not connect to ${formatEndpoint(listener.address)}: TLS handshake failed: the peer hung up (is it listening without --secret-file?)`,
    );
    await until(() => closeReasons.length === 1);
    expect(closeReasons[0]).toBeInstanceOf(FrameError);
    expect(closeReasons[0]?.message).toMatch(/^not an admove frame \(first byte 0x16\)/);
  });

  it('times out a handshake the server never answers', async () => {
    const silent: Server = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const sockets: Socket[] = [];
    silent.on('connection', (socket) => sockets.push(socket));
    cleanups.push(() => {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => silent.close(() => resolve()));
    });
    const endpoint = { host: '127.0.0.1', port: (silent.address() as { port: number }).port };
    await expect(connect(endpoint, { secret: SECRET, timeoutMs: 200 })).rejects.toThrow(
      `could not connect to 127.0.0.1:${endpoint.port}: timed out after 200 ms`,
    );
  });
});
