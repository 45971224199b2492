/**
 * `--hosts HOST:PORT,…` and `--hostfile FILE` (one `HOST:PORT [speed]` per line, `#` starts
 * a comment): the agents a job runs on. Checked line by line, with one-line errors.
 */
import { readFile } from 'node:fs/promises';
import { UserError } from '../../framework/errors.ts';
import type { AgentAddress, AgentTransport, RemoteHost } from '../../framework/net/agent-transport.ts';
import { parseEndpoint, readSecretFile } from '../../framework/net/secure-socket.ts';
import { readSpeed } from '../../framework/partition/host-speed.ts';
import type { Trace, TraceEntry } from '../../scheduler-stub/index.ts';
import { type FlagValues, stringFlag } from './flags.ts';

export async function readAgentAddresses(values: FlagValues): Promise<AgentAddress[]> {
  const list = stringFlag(values, 'hosts');
  const file = stringFlag(values, 'hostfile');
  if (list && file) throw new UserError('--hosts and --hostfile both list agents; give only one');
  if (list) {
    return list.split(',').map((item) => ({ endpoint: parseEndpoint(item.trim(), '--hosts') }));
  }
  if (file) return parseHostfile(await readHostfile(file), file);
  return [];
}

async function readHostfile(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UserError(
      `--hostfile ${file}: ${code === 'ENOENT' ? 'no such file' : `cannot read it (${code})`}`,
    );
  }
}

export function parseHostfile(text: string, file: string): AgentAddress[] {
  const out: AgentAddress[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') return;
    const where = `${file}:${i + 1}`;
    const [address, speedText, ...rest] = line.split(/\s+/);
    if (rest.length > 0) throw new UserError(`${where}: expected "HOST:PORT [speed]", got "${line}"`);
    const endpoint = parseEndpoint(address, where);
    if (speedText === undefined) {
      out.push({ endpoint });
      return;
    }
    const speed = readSpeed(speedText);
    if (typeof speed === 'string') throw new UserError(`${where}: speed "${speedText}" ${speed}`);
    out.push({ endpoint, speed });
  });
  if (out.length === 0) throw new UserError(`${file}: lists no agents (one HOST:PORT [speed] per line)`);
  const seen = new Set<string>();
  for (const a of out) {
    const key = `${a.endpoint.host}:${a.endpoint.port}`;
    if (seen.has(key)) throw new UserError(`${file}: agent ${key} is listed twice`);
    seen.add(key);
  }
  return out;
}

/**
 * An event naming an agent that hosts several workers (NAME.0 … NAME.{n-1}) applies to each
 * of them: one entry per worker, at the same time, in order.
 */
export function expandAgentEvents(trace: Trace, groups: ReadonlyMap<string, readonly string[]>): Trace {
  const events: TraceEntry[] = trace.events.flatMap((entry) => {
    const members = groups.get(entry.event.host);
    if (!members) return [entry];
    return members.map((host) => ({ ...entry, event: { ...entry.event, host } }));
  });
  return { ...trace, events };
}

/** The hosts of a job on agents (and local threads beside them), and how to start its workers. */
export interface Cluster {
  readonly hosts: string[];
  /** Memory caps by host (bytes; absent: none), in the order of `hosts`. */
  readonly maxBytes: (number | undefined)[];
  readonly speeds: number[];
  /** Agents hosting several workers: their name → their workers' host names. */
  readonly groups: Map<string, string[]>;
  readonly transport: AgentTransport;
}

/**
 * With `--hosts`/`--hostfile`: ask every agent who it is and build the job's hosts — local
 * threads first (only when `--workers` or `--speeds` asks for them), then each agent's
 * workers. Null without agents.
 */
export async function joinAgents(
  values: FlagValues,
  localSpeeds: readonly number[],
  secret: Buffer | undefined,
): Promise<Cluster | null> {
  const addresses = await readAgentAddresses(values);
  if (addresses.length === 0) return null;
  const { discoverAgents, agentTransport } = await import('../../framework/net/agent-transport.ts');
  const { AgentUnavailable } = await import('../../framework/net/agent-connection.ts');
  let remote: RemoteHost[];
  try {
    remote = await discoverAgents(addresses, { secret });
  } catch (error) {
    if (error instanceof AgentUnavailable) throw new UserError(error.message);
    throw error;
  }
  const local = values.workers !== undefined || values.speeds !== undefined ? [...localSpeeds] : [];
  const hosts = [...local.map((_, i) => `h${i}`), ...remote.map((h) => h.name)];
  const clash = hosts.find((h, i) => hosts.indexOf(h) !== i);
  if (clash) throw new UserError(`two hosts are named ${clash}; start the agents with distinct --name`);
  const groups = new Map<string, string[]>();
  for (const h of remote) {
    if (h.name === h.agent) continue;
    groups.set(h.agent, [...(groups.get(h.agent) ?? []), h.name]);
  }
  return {
    hosts,
    maxBytes: [...local.map(() => undefined), ...remote.map((h) => h.maxBytes)],
    speeds: [...local, ...remote.map((h) => h.speed)],
    groups,
    transport: agentTransport(remote, { secret }),
  };
}

/** `--secret-file`, read and checked; it needs something to secure. */
export async function readSecret(values: FlagValues): Promise<Buffer | undefined> {
  const file = stringFlag(values, 'secret-file');
  if (file === undefined) return undefined;
  if (!values.hosts && !values.hostfile && !values.control) {
    throw new UserError(
      '--secret-file goes with --hosts, --hostfile or --control (the connections it secures)',
    );
  }
  return readSecretFile(file);
}
