/**
 * Listening and dialling for framed connections: plain TCP on loopback, or TLS 1.3
 * authenticated by a pre-shared key (the --secret-file) anywhere else.
 *
 * The TLS set-up uses no certificates: both sides prove knowledge of the secret through
 * TLS 1.3 external PSK (node:tls `pskCallback`). The secret file may hold any number of
 * bytes (16 or more: hex, base64, raw); both sides turn it into the 32-byte PSK with
 * HKDF-SHA-256 (info "admove tls-psk v1"), which fixes its length within OpenSSL's PSK limit
 * and keeps the key used on the wire distinct from the file's bytes.
 *
 * A connection that fails (wrong secret, garbage, TLS on one side only) fails alone: the
 * listener reports it through onRejected and goes on serving.
 */

import { hkdfSync } from 'node:crypto';
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Server, Socket } from 'node:net';
import {
  BlockList,
  createServer as createPlainServer,
  isIPv4,
  isIPv6,
  connect as plainConnect,
} from 'node:net';
import type { TLSSocket } from 'node:tls';
import { createServer as createTlsServer, connect as tlsConnect } from 'node:tls';
import { UserError } from '../errors.ts';
import { firstLine } from '../util/first-line.ts';
import { FramedConnection, STALL_MS } from './frames.ts';
import { ReusedReads, withReusedReads } from './reused-reads.ts';

export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

export interface Listener {
  readonly address: Endpoint;
  /**
   * Stops accepting, drops connections still in their TLS handshake, closes every
   * connection handed out (gracefully: see FramedConnection.close) and resolves once all
   * are closed.
   */
  close(): Promise<void>;
}

export interface ListenOptions {
  host: string;
  port: number;
  secret?: Buffer;
  /** A peer silent this long in the middle of a frame, or of the TLS handshake, is dropped (default 10 s). */
  stallMs?: number;
  onConnection(conn: FramedConnection): void;
  /** A connection that failed the TLS handshake, so was never handed to onConnection. */
  onRejected?(remote: string, reason: string): void;
}

export interface ConnectOptions {
  secret?: Buffer;
  timeoutMs?: number;
  stallMs?: number;
}

export const CONNECT_TIMEOUT_MS = 10_000;
/** A client silent this long in its TLS handshake is dropped, as one stalled in a frame is. */
const HANDSHAKE_TIMEOUT_MS = STALL_MS;
const MIN_SECRET_BYTES = 16;
const PSK_IDENTITY = 'admove';
/**
 * TLS_AES_128_GCM_SHA256 is the suite OpenSSL 3.0 negotiates with an external PSK (its
 * default PSK hash is SHA-256); TLS_AES_256_GCM_SHA384 alone fails the handshake.
 */
const TLS_OPTIONS = {
  minVersion: 'TLSv1.3',
  maxVersion: 'TLSv1.3',
  ciphers: 'TLS_AES_128_GCM_SHA256',
} as const;

/**
 * `HOST:PORT` (`[IPv6]:PORT`). Port 0 (any free port) only where one listens (`listening`);
 * an address to connect to needs a real one.
 */
export function parseEndpoint(text: string, what: string, listening = false): Endpoint {
  const match = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:[\]\s]+):(\d+)$/.exec(text);
  const port = match === null ? Number.NaN : Number(match[2]);
  const bracketed = text.startsWith('[');
  if (match === null || (bracketed && !isIPv6(match[1]))) {
    throw new UserError(`${what}: "${text}" is not HOST:PORT (e.g. 127.0.0.1:7000)`);
  }
  const low = listening ? 0 : 1;
  if (port < low || port > 65535)
    throw new UserError(`${what}: "${text}": port ${port} is out of range (${low}–65535)`);
  return { host: match[1], port };
}

export function formatEndpoint(endpoint: Endpoint): string {
  return endpoint.host.includes(':')
    ? `[${endpoint.host}]:${endpoint.port}`
    : `${endpoint.host}:${endpoint.port}`;
}

// BlockList normalises IPv6 spellings and matches IPv4-mapped addresses (::ffff:127.0.0.1).
const loopbackAddresses = new BlockList();
loopbackAddresses.addSubnet('127.0.0.0', 8, 'ipv4');
loopbackAddresses.addAddress('::1', 'ipv6');

export function isLoopback(host: string): boolean {
  const bare = (host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host).toLowerCase();
  if (bare === 'localhost') return true;
  if (isIPv4(bare)) return loopbackAddresses.check(bare, 'ipv4');
  if (isIPv6(bare)) return loopbackAddresses.check(bare, 'ipv6');
  return false;
}

function isAsciiSpace(byte: number): boolean {
  return byte === 0x20 || (byte >= 0x09 && byte <= 0x0d);
}

/** A secret is a short key: a larger file is not one (and is not read whole). */
const MAX_SECRET_FILE_BYTES = 64 << 10;

/** Reads a secret file the way ssh reads a key: refused unless only its owner can read it. */
export async function readSecretFile(path: string): Promise<Buffer> {
  let contents: Buffer;
  try {
    // Non-blocking: opening a FIFO for reading would otherwise wait for a writer forever.
    const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      // Type, mode and contents from the same open file, so no swap can slip in between.
      const stats = await handle.stat();
      const { mode } = stats;
      if (stats.isDirectory()) throw new UserError(`secret file ${path} is a directory, not a file`);
      if (!stats.isFile()) throw new UserError(`secret file ${path} is not a regular file`);
      if (stats.size > MAX_SECRET_FILE_BYTES) {
        throw new UserError(
          `secret file ${path} holds ${stats.size} bytes, too many for a key (at most ${MAX_SECRET_FILE_BYTES}; e.g. openssl rand -hex 32 > ${path})`,
        );
      }
      if ((mode & 0o077) !== 0) {
        const octal = (mode & 0o777).toString(8);
        throw new UserError(
          `secret file ${path} is accessible to group or others (mode ${octal}): chmod 600 ${path}`,
        );
      }
      // At most one byte past the limit: a file that grew since the check is not read whole.
      const buffer = Buffer.alloc(MAX_SECRET_FILE_BYTES + 1);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
      if (bytesRead > MAX_SECRET_FILE_BYTES) {
        throw new UserError(
          `secret file ${path} holds more than ${MAX_SECRET_FILE_BYTES} bytes, too many for a key`,
        );
      }
      contents = buffer.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  } catch (error) {
    if (error instanceof UserError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UserError(`secret file ${path} does not exist`);
    if (code === 'EISDIR') throw new UserError(`secret file ${path} is a directory, not a file`);
    throw new UserError(`cannot read secret file ${path}: ${code ?? String(error)}`);
  }
  let start = 0;
  let end = contents.length;
  while (start < end && isAsciiSpace(contents[start])) start++;
  while (end > start && isAsciiSpace(contents[end - 1])) end--;
  if (start === end) throw new UserError(`secret file ${path} is empty`);
  if (end - start < MIN_SECRET_BYTES) {
    throw new UserError(
      `secret file ${path} holds ${end - start} bytes; at least ${MIN_SECRET_BYTES} are needed (e.g. openssl rand -hex 32 > ${path})`,
    );
  }
  return contents.subarray(start, end);
}

function pskFromSecret(secret: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), 'admove tls-psk v1', 32));
}

function errorCode(error: Error): string | undefined {
  return (error as NodeJS.ErrnoException).code;
}

function remoteOf(socket: Socket): string {
  if (socket.remoteAddress === undefined) return 'unknown peer';
  return formatEndpoint({ host: socket.remoteAddress, port: socket.remotePort ?? 0 });
}

/** Why a TLS listener turned a client away, in one line. */
function describeRejection(error: Error): string {
  const code = errorCode(error);
  switch (code) {
    case 'ERR_SSL_BINDER_DOES_NOT_VERIFY':
      return 'TLS handshake failed: wrong secret';
    case 'ERR_SSL_WRONG_VERSION_NUMBER':
    case 'ERR_SSL_HTTP_REQUEST':
    case 'ERR_SSL_UNKNOWN_PROTOCOL':
      return 'not a TLS client (is it running without --secret-file?)';
    case 'ERR_SSL_NO_SUITABLE_SIGNATURE_ALGORITHM':
    case 'ERR_SSL_NO_SHARED_CIPHER':
      return 'TLS handshake failed: the client offered no admove pre-shared key';
    case 'ERR_TLS_HANDSHAKE_TIMEOUT':
      return 'TLS handshake timed out';
    case 'ECONNRESET':
      return 'the client hung up during the TLS handshake';
    default:
      return `TLS handshake failed (${code ?? firstLine(error.message)})`;
  }
}

/** Why dialling failed, in one line; `secure` says whether a TLS handshake was under way. */
function describeConnectFailure(error: Error, host: string, secure: boolean): string {
  const code = errorCode(error);
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused (is the agent running?)';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `host ${host} not found`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'host unreachable';
    case 'ETIMEDOUT':
      return 'timed out';
  }
  if (secure && code?.startsWith('ERR_SSL_')) return 'TLS handshake failed (wrong secret?)';
  if (secure && (code === 'ECONNRESET' || code === 'EPIPE')) {
    return 'TLS handshake failed: the peer hung up (is it listening without --secret-file?)';
  }
  return firstLine(error.message);
}

function describeListenFailure(error: Error, where: string): UserError {
  const code = errorCode(error);
  const reason =
    code === 'EADDRINUSE'
      ? 'the port is in use'
      : code === 'EADDRNOTAVAIL'
        ? 'no such address on this machine'
        : code === 'EACCES'
          ? 'permission denied (ports below 1024 need privileges)'
          : code === 'ENOTFOUND' || code === 'EAI_AGAIN'
            ? 'host not found'
            : firstLine(error.message);
  return new UserError(`cannot listen on ${where}: ${reason}`);
}

export async function listen(options: ListenOptions): Promise<Listener> {
  const { host, port, secret } = options;
  if (secret === undefined && !isLoopback(host)) {
    throw new UserError(
      `refusing to listen on ${host} without --secret-file: without a secret only loopback addresses are allowed`,
    );
  }
  const stallMs = options.stallMs ?? STALL_MS;
  const connections = new Set<FramedConnection>();
  const handOut = (socket: Socket, reusedReads?: ReusedReads): void => {
    socket.setNoDelay(true);
    const conn = new FramedConnection(socket, { stallMs, reusedReads });
    connections.add(conn);
    socket.once('close', () => connections.delete(conn));
    try {
      options.onConnection(conn);
    } catch (error) {
      conn.destroy(error instanceof Error ? error : new Error(String(error)));
    }
  };
  // TLS only: raw sockets whose handshake has not finished, by remote address (unique while open).
  const handshaking = new Map<string, Socket>();
  let server: Server;
  if (secret === undefined) {
    // Paused on accept, so that the socket can be remade to read into a reused buffer first.
    server = createPlainServer({ pauseOnConnect: true }, (accepted) => {
      const reads = new ReusedReads();
      const socket = withReusedReads(accepted, reads);
      if (socket === null) {
        accepted.resume();
        handOut(accepted);
      } else handOut(socket, reads);
    });
  } else {
    const psk = pskFromSecret(secret);
    server = createTlsServer({
      ...TLS_OPTIONS,
      handshakeTimeout: options.stallMs ?? HANDSHAKE_TIMEOUT_MS,
      // Authorisation happens here: under TLS 1.3 PSK isSessionReused() is always true,
      // so nothing after the handshake can tell who was let in.
      pskCallback: (_socket, identity) => (identity === PSK_IDENTITY ? psk : null),
    });
    server.on('connection', (raw: Socket) => {
      const key = remoteOf(raw);
      handshaking.set(key, raw);
      raw.once('close', () => handshaking.delete(key));
    });
    server.on('secureConnection', (socket: TLSSocket) => {
      handshaking.delete(remoteOf(socket));
      handOut(socket);
    });
    server.on('tlsClientError', (error: Error, socket: TLSSocket) => {
      options.onRejected?.(remoteOf(socket), describeRejection(error));
      // Node closes the connection after a failed handshake but not after a timed-out one:
      // a client that sends nothing would otherwise hold its socket for as long as it likes.
      socket.destroy();
      handshaking.get(remoteOf(socket))?.destroy();
    });
  }
  const where = formatEndpoint({ host, port });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) => reject(describeListenFailure(error, where)));
    server.listen(port, host, () => resolve());
  });
  server.removeAllListeners('error');
  // Errors accepting a connection (out of file descriptors) cost that connection, not the process.
  server.on('error', (error) => options.onRejected?.('unknown peer', firstLine(error.message)));
  const bound = server.address();
  if (bound === null || typeof bound === 'string')
    throw new Error(`listening on ${where} gave no TCP address`);
  return {
    address: { host: bound.address, port: bound.port },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const raw of handshaking.values()) raw.destroy();
        for (const conn of connections) conn.close();
      }),
  };
}

export async function connect(endpoint: Endpoint, options: ConnectOptions = {}): Promise<FramedConnection> {
  const timeoutMs = options.timeoutMs ?? CONNECT_TIMEOUT_MS;
  const where = formatEndpoint(endpoint);
  const secure = options.secret !== undefined;
  const psk = options.secret === undefined ? null : pskFromSecret(options.secret);
  // Plain TCP reads into one reused buffer (reused-reads.ts); TLS decrypts into its own.
  const reads = psk === null ? new ReusedReads() : undefined;
  const socket: Socket =
    psk === null
      ? plainConnect({ host: endpoint.host, port: endpoint.port, onread: reads?.onread })
      : tlsConnect({
          ...TLS_OPTIONS,
          host: endpoint.host,
          port: endpoint.port,
          // No certificate is involved, so there is no name to check; the PSK is the proof.
          checkServerIdentity: () => undefined,
          pskCallback: () => ({ psk, identity: PSK_IDENTITY }),
        });
  return new Promise<FramedConnection>((resolve, reject) => {
    let settled = false;
    const fail = (reason: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      reject(new Error(`could not connect to ${where}: ${reason}`));
    };
    const timer = setTimeout(() => fail(`timed out after ${timeoutMs} ms`), timeoutMs);
    const onError = (error: Error): void => fail(describeConnectFailure(error, endpoint.host, secure));
    const onClose = (): void => fail('the connection closed while being set up');
    socket.once('error', onError);
    socket.once('close', onClose);
    socket.once(secure ? 'secureConnect' : 'connect', () => {
      // A server holding a certificate a CA vouches for could complete a handshake without
      // the PSK; only a handshake that presented no certificate proved the secret.
      if (secure && Object.keys((socket as TLSSocket).getPeerCertificate()).length > 0) {
        fail('the server presented a certificate instead of proving the shared secret');
        return;
      }
      settled = true;
      clearTimeout(timer);
      socket.off('error', onError);
      socket.off('close', onClose);
      socket.setNoDelay(true);
      resolve(new FramedConnection(socket, { stallMs: options.stallMs, reusedReads: reads }));
    });
  });
}
