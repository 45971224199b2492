/** `admove opt --control HOST:PORT`: the running job's control port, for `admove scheduler`. */
import type { DataParallelJob, EventRecord, SchedulerEvent } from '../../framework/index.ts';
import type { AgentTransport } from '../../framework/net/agent-transport.ts';
import { parseEndpoint } from '../../framework/net/secure-socket.ts';
import { type FlagValues, stringFlag } from './flags.ts';
import { print } from './stdout.ts';

export interface OpenControlPort {
  /** From now on events go to `job`. */
  attach(job: DataParallelJob): void;
  close(): Promise<void>;
}

export async function openControlPort(
  values: FlagValues,
  secret: Buffer | undefined,
  hosts: readonly string[],
  groups: Map<string, string[]>,
  progress: { onEvent(record: EventRecord): void },
  /** The job's agent transport: agents added while it runs start their workers through it. */
  transport: AgentTransport | undefined,
  /** A scheduler's `end`: stop the run cleanly, as on Ctrl-C. */
  end: (reason: string) => void,
): Promise<OpenControlPort | null> {
  const flag = stringFlag(values, 'control');
  if (flag === undefined) return null;
  const endpoint = parseEndpoint(flag, '--control', true);
  let job: DataParallelJob | null = null;
  const known = new Set([...hosts, ...groups.keys()]);
  // `add HOST:PORT`: ask the agent who it is, then every one of its workers joins the job.
  // One at a time: two adds of the same agent must not both pass the name check.
  let adding: Promise<unknown> = Promise.resolve();
  const add = (address: string): Promise<EventRecord[]> => {
    const next = adding.then(() => addNow(address));
    adding = next.catch(() => {});
    return next;
  };
  const addNow = async (address: string): Promise<EventRecord[]> => {
    const target = job;
    if (!target?.addHosts)
      throw new Error('this job cannot take new hosts (it has not started, or runs --mode plain)');
    if (!transport) throw new Error('this job was started without an agent transport');
    const { discoverAgents } = await import('../../framework/net/agent-transport.ts');
    const remote = await discoverAgents([{ endpoint: parseEndpoint(address, 'add') }], { secret });
    const clash = remote.find((h) => known.has(h.name) || known.has(h.agent));
    if (clash)
      throw new Error(
        `a host named ${clash.name} is already in the job; start the agent with another --name`,
      );
    transport.addHosts(remote);
    // An agent's workers join together: one redistribution gives each its share.
    const records = await target.addHosts(
      remote.map((h) => ({
        name: h.name,
        speed: h.speed,
        ...(h.maxBytes === undefined ? {} : { maxBytes: h.maxBytes }),
      })),
    );
    for (const [k, record] of records.entries()) {
      known.add(remote[k].name);
      progress.onEvent(record);
    }
    if (remote.length > 1)
      groups.set(
        remote[0].agent,
        remote.map((h) => h.name),
      );
    known.add(remote[0]?.agent ?? '');
    return records;
  };
  const send = (event: SchedulerEvent): EventRecord[] => {
    const target = job;
    if (!target) {
      return [
        {
          seq: -1,
          event,
          receivedAt: 0,
          outcome: { status: 'rejected', reason: 'the job has not started yet', at: 0 },
        },
      ];
    }
    // An event naming an agent with several workers applies to each of them, together.
    const hosts = groups.get(event.host) ?? [event.host];
    const records = target.sendTogether(hosts.map((host) => ({ ...event, host })));
    for (const record of records) progress.onEvent(record);
    return records;
  };
  const released = new Set<string>();
  const release = async (names: readonly string[]): Promise<void> => {
    const target = job;
    if (!target) throw new Error('the job has not started yet');
    if (!transport) throw new Error('this job runs no agents: nothing to release');
    const hosts = names.flatMap((n) => groups.get(n) ?? [n]);
    if (!target.retire) throw new Error('this job cannot let hosts go (it runs --mode plain)');
    // The job lets go of them first, all or none: a later event for them is refused, not a fault.
    target.retire(hosts);
    for (const host of hosts) released.add(host);
    for (const host of hosts) await transport.release(host);
  };
  const { ControlPort } = await import('../../framework/net/control-port.ts');
  const port = await ControlPort.open({
    host: endpoint.host,
    port: endpoint.port,
    secret,
    send,
    add,
    end,
    release,
    // Joined hosts count; released ones no longer do.
    hosts: () => [...known].filter((h) => h !== '' && !released.has(h)),
    log: (line) => process.stderr.write(`admove: ${line}\n`),
  });
  print(
    `control port listening on ${port.address.host}:${port.address.port} (admove scheduler --job ${port.address.host}:${port.address.port})\n`,
  );
  return {
    attach(j) {
      job = j;
    },
    close: () => port.close(),
  };
}
