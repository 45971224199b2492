/**
 * Where a direct move's two halves meet on the receiving agent: the coordinator's `receive`
 * request and the sending agent's peer connection carry the same ticket, and either may
 * arrive first. A ticket the coordinator cancels (its sender failed or never came) ends the
 * wait, or the transfer already under way.
 */
import type { MessageChannel } from '../net/message-channel.ts';

interface Meeting {
  channel?: MessageChannel;
  /** While the sender's connection waits here: its beats (see `arriveNow`). */
  beat?: ReturnType<typeof setInterval>;
  waiter?: { resolve(c: MessageChannel): void; reject(e: Error): void };
  cancelled?: string;
}

/** A peer connection that nobody asks for within this long is dropped. */
const UNCLAIMED_MS = 60_000;
/** Tickets cancelled before anything arrived are remembered this long, then forgotten. */
const CANCELLED_MS = 60_000;

export class PeerRendezvous {
  private readonly meetings = new Map<string, Meeting>();
  /** Transfers under way, by ticket: a cancel destroys their connection. */
  private readonly claimed = new Map<string, MessageChannel>();
  /** What `arrive` waits on, by ticket, and by connection (its latest move). */
  private readonly finishers = new Map<string, () => void>();
  private readonly moveOn = new WeakMap<MessageChannel, () => void>();
  private readonly watched = new WeakSet<MessageChannel>();

  /** `livenessMs`: the job's liveness limit (a sender gives up on a receiver silent that long). */
  constructor(private readonly livenessMs: () => number = () => 10_000) {}

  /**
   * A sending agent's connection announced move `ticket`. Resolves once that move is over
   * on this side (`done`, `cancel`, `clear`, or the connection closed): the connection may
   * then carry the next move.
   */
  arrive(ticket: string, channel: MessageChannel): Promise<void> {
    const over = new Promise<void>((resolve) => {
      this.finishers.set(ticket, resolve);
      this.moveOn.set(channel, resolve);
    });
    // One close handler per connection, however many moves it carries.
    if (!this.watched.has(channel)) {
      this.watched.add(channel);
      channel.onClose(() => this.moveOn.get(channel)?.());
    }
    this.arriveNow(ticket, channel);
    return over;
  }

  private arriveNow(ticket: string, channel: MessageChannel): void {
    const m = this.meetings.get(ticket) ?? {};
    if (m.channel || m.cancelled || this.claimed.has(ticket)) {
      channel.destroy(
        m.cancelled ? `move ${ticket} was cancelled` : `a second connection for move ${ticket}`,
      );
      return;
    }
    if (m.waiter) {
      this.meetings.delete(ticket);
      this.claimed.set(ticket, channel);
      m.waiter.resolve(channel);
      return;
    }
    m.channel = channel;
    // The receiving worker may be busy with another move first (its requests are served one
    // at a time), longer than the liveness limit on a slow link: the waiting sender hears
    // that this side is here, as it does while its bytes arrive (direct-moves.ts).
    m.beat = setInterval(() => {
      if (channel.isClosed) clearInterval(m.beat);
      else channel.send({ type: 'receiving' }).catch(() => {});
    }, this.livenessMs() / 4);
    m.beat.unref?.();
    this.meetings.set(ticket, m);
    setTimeout(() => {
      if (this.meetings.get(ticket) === m && m.channel) {
        this.meetings.delete(ticket);
        clearInterval(m.beat);
        channel.destroy('nobody asked for this move');
      }
    }, UNCLAIMED_MS).unref();
  }

  /** The sender's connection for `ticket`, once it is there; rejects if the move is cancelled. */
  await(ticket: string): Promise<MessageChannel> {
    const m = this.meetings.get(ticket) ?? {};
    if (m.cancelled) {
      this.meetings.delete(ticket);
      return Promise.reject(new Error(m.cancelled));
    }
    if (m.channel) {
      this.meetings.delete(ticket);
      clearInterval(m.beat);
      this.claimed.set(ticket, m.channel);
      return Promise.resolve(m.channel);
    }
    return new Promise((resolve, reject) => {
      m.waiter = { resolve, reject };
      this.meetings.set(ticket, m);
    });
  }

  /** The transfer for `ticket` is over (taken or refused). */
  done(ticket: string): void {
    this.claimed.delete(ticket);
    this.finish(ticket);
  }

  private finish(ticket: string): void {
    this.finishers.get(ticket)?.();
    this.finishers.delete(ticket);
  }

  /** The coordinator gave up on this move: whoever waits stops waiting, a transfer stops. */
  cancel(ticket: string, reason: string): void {
    this.finish(ticket);
    const under = this.claimed.get(ticket);
    if (under) {
      this.claimed.delete(ticket);
      under.destroy(reason);
      return;
    }
    const m = this.meetings.get(ticket) ?? {};
    // A waiting receiver stops waiting, and the ticket stays marked either way: a sender that
    // comes late is turned away, not left streaming to a receiver that has gone.
    m.waiter?.reject(new Error(reason));
    delete m.waiter;
    clearInterval(m.beat);
    m.channel?.destroy(reason);
    delete m.channel;
    m.cancelled = reason;
    this.meetings.set(ticket, m);
    setTimeout(() => {
      if (this.meetings.get(ticket) === m) this.meetings.delete(ticket);
    }, CANCELLED_MS).unref();
  }

  clear(reason: string): void {
    for (const m of this.meetings.values()) {
      clearInterval(m.beat);
      m.waiter?.reject(new Error(reason));
      m.channel?.destroy(reason);
    }
    for (const c of this.claimed.values()) c.destroy(reason);
    this.meetings.clear();
    this.claimed.clear();
    for (const finish of this.finishers.values()) finish();
    this.finishers.clear();
  }
}
