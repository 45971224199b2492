/**
 * A running job's control port: the global scheduler as a process of its own
 * (`admove scheduler --job HOST:PORT`) sends events here and gets each event's record back
 * once the job has decided its fate (applied, superseded, or rejected with the reason), or
 * asks the job to end cleanly (`end`).
 * Several schedulers may connect; a malformed message closes that connection only.
 */
import type { EventRecord, SchedulerEvent } from '../events/types.ts';
import { ADMOVE_VERSION } from '../util/version.ts';
import { MessageChannel } from './message-channel.ts';
import { isObject } from './protocol.ts';
import { type Endpoint, type Listener, listen } from './secure-socket.ts';

export interface ControlPortOptions {
  readonly host: string;
  readonly port: number;
  readonly secret?: Buffer;
  /** Hand an event to the job; the record's `outcome` is filled in when the job decides. */
  send(event: SchedulerEvent): readonly EventRecord[];
  /** Connect the job to the agent at `address` (HOST:PORT); its hosts' `available` records. */
  add(address: string): Promise<readonly EventRecord[]>;
  /**
   * Stop the job cleanly, as on Ctrl-C (it writes its checkpoint and report, marked
   * interrupted): the scheduler is taking the coordinator's own host away.
   */
  end(reason: string): void;
  /**
   * Let go of `hosts` (vacated, holding nothing) so their machine can leave the job; rejects
   * with the reason when one still holds data or is not the job's.
   */
  release(hosts: readonly string[]): Promise<void>;
  /**
   * The job's host names (and names of agents with several workers) as they are when a
   * scheduler connects (hosts that joined included), told to it.
   */
  readonly hosts: () => readonly string[];
  readonly log?: (line: string) => void;
}

/** A connection must say who it is within this long. */
const HELLO_MS = 10_000;

/** How often a pending record is looked at for its outcome. */
const OUTCOME_POLL_MS = 25;

export class ControlPort {
  private constructor(private readonly listener: Listener) {}

  static async open(options: ControlPortOptions): Promise<ControlPort> {
    const listener = await listen({
      host: options.host,
      port: options.port,
      secret: options.secret,
      // Event messages have no bodies: a scheduler never needs to send any.
      onConnection: (conn) => void serve(new MessageChannel(conn, { headersOnly: true }), options),
      onRejected: (remote, reason) => options.log?.(`control port refused ${remote}: ${reason}`),
    });
    return new ControlPort(listener);
  }

  get address(): Endpoint {
    return this.listener.address;
  }

  close(): Promise<void> {
    return this.listener.close();
  }
}

async function serve(channel: MessageChannel, options: ControlPortOptions): Promise<void> {
  const silent = setTimeout(() => channel.destroy('no hello'), HELLO_MS);
  const first = await channel.next().catch(() => null);
  clearTimeout(silent);
  if (!first) return;
  const h = first.header;
  if (h.type === 'hello' && h.role !== 'scheduler') {
    // A coordinator taking this port for an agent's (an `add` of the wrong address, say):
    // told so, rather than left to guess at secrets from a closed connection.
    await channel
      .send({ type: 'refused', reason: "this is a job's control port (admove opt --control), not an agent" })
      .catch(() => {});
    channel.close();
    return;
  }
  if (h.type !== 'hello') {
    channel.destroy('not a scheduler hello');
    return;
  }
  if (h.version !== ADMOVE_VERSION) {
    await channel
      .send({
        type: 'refused',
        reason: `admove version mismatch: the job runs ${ADMOVE_VERSION}, the scheduler ${String(h.version)}`,
      })
      .catch(() => {});
    channel.close();
    return;
  }
  await channel.send({ type: 'welcome', version: ADMOVE_VERSION, hosts: options.hosts() }).catch(() => {});
  for (;;) {
    const m = await channel.next().catch(() => null);
    if (!m) return;
    const id = m.header.id;
    if (m.header.type === 'add' && typeof m.header.address === 'string') {
      void options
        .add(m.header.address)
        .then((records) => Promise.all(records.map(decided)))
        .then(
          (records) => channel.send({ type: 'records', id, records }).catch(() => {}),
          (error: unknown) =>
            channel
              .send({ type: 'records', id, records: [], error: (error as Error).message })
              .catch(() => {}),
        );
      continue;
    }
    if (m.header.type === 'release' && Array.isArray(m.header.hosts)) {
      const hosts = m.header.hosts.map(String);
      void options.release(hosts).then(
        () => channel.send({ type: 'records', id, records: [] }).catch(() => {}),
        (error: unknown) =>
          channel.send({ type: 'records', id, records: [], error: (error as Error).message }).catch(() => {}),
      );
      continue;
    }
    if (m.header.type === 'end') {
      const reason = typeof m.header.reason === 'string' ? m.header.reason.slice(0, 200) : '';
      options.end(`the scheduler ended the job${reason ? `: ${reason}` : ''}`);
      await channel.send({ type: 'records', id, records: [] }).catch(() => {});
      continue;
    }
    if (m.header.type !== 'event' || !isObject(m.header.event)) {
      channel.destroy('expected an event message');
      return;
    }
    // The job validates the event itself: a bad one comes back as a rejected record.
    const records = options.send(m.header.event as unknown as SchedulerEvent);
    void Promise.all(records.map(decided)).then((done) =>
      channel.send({ type: 'records', id, records: done }).catch(() => {}),
    );
  }
}

function decided(record: EventRecord): Promise<EventRecord> {
  return new Promise((resolve) => {
    const look = () => {
      if (record.outcome) resolve({ ...record });
      else setTimeout(look, OUTCOME_POLL_MS).unref();
    };
    look();
  });
}
