/** The scheduler's end of a job's control port (see framework/net/control-port.ts). */
import { RunFailure } from '../framework/errors.ts';
import type { EventRecord, SchedulerEvent } from '../framework/events/types.ts';
import { MessageChannel } from '../framework/net/message-channel.ts';
import { connect, type Endpoint, formatEndpoint } from '../framework/net/secure-socket.ts';
import { ADMOVE_VERSION } from '../framework/util/version.ts';

export class JobClient {
  private nextId = 0;
  private markClosed: () => void = () => {};
  /** Resolves when the job's control port has gone (the job ended). */
  readonly closed = new Promise<void>((resolve) => {
    this.markClosed = resolve;
  });
  private readonly waiting = new Map<number, { resolve(r: EventRecord[]): void; reject(e: Error): void }>();

  private constructor(
    private readonly channel: MessageChannel,
    /** The job's host names (and agent names), for checking a trace before it is sent. */
    readonly hosts: readonly string[],
  ) {
    void this.listen();
  }

  static async connect(endpoint: Endpoint, secret?: Buffer): Promise<JobClient> {
    let channel: MessageChannel;
    try {
      channel = new MessageChannel(await connect(endpoint, { secret }));
    } catch (error) {
      // The socket layer's hint is about agents; here the peer is a job's control port.
      throw new RunFailure(
        (error as Error).message.replace('is the agent running?', 'is admove opt running with --control?'),
      );
    }
    await channel.send({ type: 'hello', version: ADMOVE_VERSION, role: 'scheduler' });
    const welcome = await channel.next().catch((error: Error) => {
      // What a control port with a secret does to a scheduler without it (or with another one).
      const hint = secret
        ? "is it the same secret file as the job's?"
        : 'if the job runs with --secret-file, give the scheduler the same one';
      throw new RunFailure(
        `the job at ${formatEndpoint(endpoint)} closed the connection (${error.message}); ${hint}`,
      );
    });
    if (welcome.header.type === 'refused') throw new RunFailure(String(welcome.header.reason));
    const hosts = Array.isArray(welcome.header.hosts) ? welcome.header.hosts.map(String) : [];
    return new JobClient(channel, hosts);
  }

  /** Send `event`; resolves with its records once the job has decided their fate. */
  send(event: SchedulerEvent): Promise<EventRecord[]> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.channel
        .send({ type: 'event', id, event: event as unknown as Record<string, unknown> })
        .catch(reject);
    });
  }

  /** Connect the job to the agent at `address`; resolves with its hosts' `available` records. */
  add(address: string): Promise<EventRecord[]> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.channel.send({ type: 'add', id, address }).catch(reject);
    });
  }

  /** Let go of vacated hosts that hold nothing; rejects (RequestRefused) with the job's reason. */
  async release(hosts: readonly string[]): Promise<void> {
    const id = this.nextId++;
    await new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.channel.send({ type: 'release', id, hosts: [...hosts] }).catch(reject);
    });
  }

  /** Ask the job to stop cleanly (checkpoint and report, marked interrupted). */
  async end(reason: string): Promise<void> {
    const id = this.nextId++;
    await new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.channel.send({ type: 'end', id, reason }).catch(reject);
    });
  }

  close(): void {
    this.channel.close();
  }

  private async listen(): Promise<void> {
    for (;;) {
      let m: Awaited<ReturnType<MessageChannel['next']>>;
      try {
        m = await this.channel.next();
      } catch (error) {
        for (const w of this.waiting.values()) w.reject(error as Error);
        this.waiting.clear();
        this.markClosed();
        return;
      }
      const w = this.waiting.get(Number(m.header.id));
      if (!w) continue;
      this.waiting.delete(Number(m.header.id));
      if (typeof m.header.error === 'string') w.reject(new RequestRefused(m.header.error));
      else w.resolve(Array.isArray(m.header.records) ? (m.header.records as EventRecord[]) : []);
    }
  }
}

/** The job refused a request (an agent it could not take, hosts it cannot release): the reason, one line. */
export class RequestRefused extends Error {
  override readonly name = 'RequestRefused';
}
