/** `admove opt --control HOST:PORT`: the running job's control port, for `admove scheduler`. */
import type { DataParallelJob, EventRecord, SchedulerEvent } from '../../framework/index.ts';
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
  groups: ReadonlyMap<string, readonly string[]> | undefined,
  progress: { onEvent(record: EventRecord): void },
): Promise<OpenControlPort | null> {
  const flag = stringFlag(values, 'control');
  if (flag === undefined) return null;
  const endpoint = parseEndpoint(flag, '--control');
  let job: DataParallelJob | null = null;
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
    // An event naming an agent with several workers applies to each of them.
    const hosts = groups?.get(event.host) ?? [event.host];
    return hosts.map((host) => {
      const record = target.send({ ...event, host });
      progress.onEvent(record);
      return record;
    });
  };
  const { ControlPort } = await import('../../framework/net/control-port.ts');
  const port = await ControlPort.open({
    host: endpoint.host,
    port: endpoint.port,
    secret,
    send,
    hosts: [...hosts, ...(groups?.keys() ?? [])],
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
