/**
 * Workers on host agents: the `WorkerTransport` for jobs across machines. Hosts that are not
 * on an agent fall back to threads on this machine, so local threads and agents mix.
 */
import { randomBytes } from 'node:crypto';
import { threadTransport } from '../runtime/thread-worker.ts';
import type { WorkerLink, WorkerSpec, WorkerTransport } from '../runtime/worker-link.ts';
import { portableKernel } from '../util/kernel-specifier.ts';
import { type AgentAccess, AgentConnection, probeAgent } from './agent-connection.ts';
import type { AgentLoadReading } from './load-relay.ts';
import { preloadCodec } from './payloads.ts';
import { RemoteWorker } from './remote-worker.ts';
import { type Endpoint, formatEndpoint } from './secure-socket.ts';

/** The transport, with what only it knows. */
export interface AgentTransport extends WorkerTransport {
  /** Let go of every agent (after the job's links are closed, or when starting failed). */
  close(): void;
  /** Bytes of exemplars, parameters and results the coordinator has received from agents. */
  bytesReceived(): number;
  /** Hosts of an agent that joins the running job (then started like the others). */
  addHosts(hosts: readonly RemoteHost[]): void;
  /** Where the load readings of agents run with `--load-watch` go (one listener). */
  onLoadReading(listener: (reading: AgentLoadReading) => void): void;
  /**
   * Let go of the worker of `host` (it holds nothing: the job vacated it): its slot is freed,
   * and an agent left with no slot of the job ends its session. False for an unknown host.
   */
  release(host: string): Promise<boolean>;
}

/** One worker slot of one agent, as a host of the job. */
export interface RemoteHost {
  readonly name: string;
  readonly endpoint: Endpoint;
  readonly slot: number;
  /** Declared speed: the hostfile's, else the agent's `--speed`, else 1. */
  readonly speed: number;
  /** The agent's name: an event naming it applies to each of its workers. */
  readonly agent: string;
  /** This worker's part of the agent's --max-memory (split evenly over its workers). */
  readonly maxBytes?: number;
}

export interface AgentAddress {
  readonly endpoint: Endpoint;
  /** Speed from a hostfile line, overriding the agent's own `--speed`. */
  readonly speed?: number;
}

/** Ask each agent who it is: the job's hosts, one per worker slot, in the order given. */
export async function discoverAgents(
  addresses: readonly AgentAddress[],
  access: AgentAccess,
): Promise<RemoteHost[]> {
  const infos = await Promise.all(addresses.map((a) => probeAgent(a.endpoint, access)));
  return infos.flatMap((info, k) =>
    Array.from({ length: info.workers }, (_, slot) => ({
      name: info.workers === 1 ? info.name : `${info.name}.${slot}`,
      endpoint: addresses[k].endpoint,
      slot,
      speed: addresses[k].speed ?? info.speed,
      agent: info.name,
      ...(info.maxMemory === null ? {} : { maxBytes: Math.floor(info.maxMemory / info.workers) }),
    })),
  );
}

export function agentTransport(
  hosts: readonly RemoteHost[],
  access: AgentAccess,
  fallback: WorkerTransport = threadTransport,
): AgentTransport {
  const job = randomBytes(6).toString('hex');
  const byName = new Map(hosts.map((h) => [h.name, h]));
  const agents = new Map<string, Promise<AgentConnection>>();
  const workers: RemoteWorker[] = [];
  let loadListener: (reading: AgentLoadReading) => void = () => {};
  const agentFor = (host: RemoteHost, spec: WorkerSpec): Promise<AgentConnection> => {
    const key = formatEndpoint(host.endpoint);
    let a = agents.get(key);
    if (!a) {
      a = AgentConnection.claim(
        host.endpoint,
        job,
        {
          kernel: portableKernel(spec.kernelModule),
          kernelConfig: spec.kernelConfig,
          livenessMs: spec.livenessMs,
          // The job's other agents: this one connects to them for moves before any is needed.
          peers: uniqueEndpoints(hosts).filter((e) => formatEndpoint(e) !== key),
        },
        access,
        (reading) => {
          // A reading is about the whole agent: it goes to every one of its worker slots (hosts).
          const hosts = [...byName.values()].filter((h) => formatEndpoint(h.endpoint) === key);
          loadListener({ ...reading, agent: host.agent, hosts: hosts.map((h) => h.name) });
        },
      );
      agents.set(key, a);
      // A lost or released agent's connection is not kept: an agent restarted on the same
      // address (a machine back after a crash) is claimed afresh when it is added.
      const forget = () => {
        if (agents.get(key) === a) agents.delete(key);
      };
      a.then((c) => c.closed.then(forget), forget);
    }
    return a;
  };
  return {
    name: 'agents',
    async start(spec: WorkerSpec): Promise<WorkerLink> {
      const host = byName.get(spec.host);
      if (!host) return fallback.start(spec);
      preloadCodec();
      const agent = await agentFor(host, spec);
      const channel = await agent.openWorker(host.slot, spec.fault);
      const worker = new RemoteWorker(spec.index, spec.host, host.slot, agent, channel);
      workers.push(worker);
      return worker;
    },
    bytesReceived: () => workers.reduce((s, w) => s + w.bytesReceived, 0),
    addHosts(more) {
      for (const h of more) byName.set(h.name, h);
    },
    onLoadReading(listener) {
      loadListener = listener;
    },
    async release(host) {
      const worker = workers.find((w) => w.host === host);
      if (!worker) return false;
      await worker.close();
      return true;
    },
    close() {
      for (const a of agents.values())
        a.then(
          (c) => c.shutDown(),
          () => {},
        );
    },
  };
}

/** Each agent's endpoint once, in host order. */
function uniqueEndpoints(hosts: readonly RemoteHost[]): Endpoint[] {
  const seen = new Map<string, Endpoint>();
  for (const h of hosts) seen.set(formatEndpoint(h.endpoint), h.endpoint);
  return [...seen.values()];
}
