/**
 * The peer connections a sending agent streams moves over, kept open for the job.
 *
 * Why: dialing the receiving agent for each move (TCP connect, hello, welcome: a round trip
 * through two busy event loops) took 2–27 ms of a 20.8 MB move that streams in ~20 ms on
 * loopback. So a job's setup names the other agents, one connection to each is dialled at
 * once in the background, and a connection that carried a move whole (the receiver
 * confirmed it) is kept for the next. A connection is used by one move at a time; a second
 * move to the same agent meanwhile dials another, which is kept too. Anything that went
 * wrong on a connection ends it: the next move dials afresh.
 */
import type { MessageChannel } from '../net/message-channel.ts';
import { type Endpoint, formatEndpoint } from '../net/secure-socket.ts';

export interface PeerLinkStats {
  /** Connections dialled (in advance or for a move), and moves that found one ready. */
  readonly dialled: number;
  readonly reused: number;
}

export class PeerLinks {
  private readonly idle = new Map<string, MessageChannel[]>();
  /** Dials in advance not yet answered: a move to that agent waits for it rather than dial twice. */
  private readonly pending = new Map<string, Promise<MessageChannel | null>>();
  /** Connections whose close already takes them out of the pool. */
  private readonly watched = new WeakSet<MessageChannel>();
  private closed = false;
  private dialled = 0;
  private reused = 0;

  constructor(private readonly dial: (endpoint: Endpoint) => Promise<MessageChannel>) {}

  /** Dial one connection to each of `endpoints` now, in the background (failures are left to `open`). */
  warm(endpoints: readonly Endpoint[]): void {
    for (const endpoint of endpoints) {
      const key = formatEndpoint(endpoint);
      if (this.pending.has(key) || this.idle.get(key)?.length) continue;
      const dialing = this.dialOnce(endpoint).then(
        (channel) => channel,
        () => null,
      );
      this.pending.set(key, dialing);
      void dialing.then((channel) => {
        if (this.pending.get(key) === dialing) this.pending.delete(key);
        if (channel) this.keep(endpoint, channel);
      });
    }
  }

  /** A connection to `endpoint` for one move: a kept one, the one dialled in advance, or a new one. */
  async open(endpoint: Endpoint): Promise<MessageChannel> {
    const key = formatEndpoint(endpoint);
    const ready = this.takeIdle(key);
    if (ready) return ready;
    const dialing = this.pending.get(key);
    if (dialing) {
      await dialing;
      const warmed = this.takeIdle(key);
      if (warmed) return warmed;
    }
    return this.dialOnce(endpoint);
  }

  /** A move over `channel` ended well: keep it for the next (a closed one is dropped). */
  keep(endpoint: Endpoint, channel: MessageChannel): void {
    if (this.closed || channel.isClosed) {
      if (this.closed) channel.close();
      return;
    }
    const key = formatEndpoint(endpoint);
    const list = this.idle.get(key) ?? [];
    list.push(channel);
    this.idle.set(key, list);
    // A kept connection the peer closes (its job ended, it went away) leaves the pool.
    if (this.watched.has(channel)) return;
    this.watched.add(channel);
    channel.onClose(() => {
      const now = this.idle.get(key);
      const at = now?.indexOf(channel) ?? -1;
      if (now && at >= 0) now.splice(at, 1);
    });
  }

  stats(): PeerLinkStats {
    return { dialled: this.dialled, reused: this.reused };
  }

  /** Close every kept connection; later ones are closed as they come back. */
  close(): void {
    this.closed = true;
    for (const list of this.idle.values()) for (const c of list) c.close();
    this.idle.clear();
  }

  private takeIdle(key: string): MessageChannel | null {
    const list = this.idle.get(key);
    while (list?.length) {
      const channel = list.pop()!;
      if (channel.isClosed) continue;
      this.reused++;
      return channel;
    }
    return null;
  }

  private dialOnce(endpoint: Endpoint): Promise<MessageChannel> {
    this.dialled++;
    return this.dial(endpoint);
  }
}
