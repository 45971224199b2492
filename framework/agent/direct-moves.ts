/**
 * Direct moves, agent to agent: the sending agent streams a part of its worker's exemplars
 * to the receiving agent over a peer connection (kept open across moves: peer-links.ts),
 * announced by the move's ticket, one Arrow IPC stream per ~1 MB batch, each written only
 * once the socket has taken the previous one, so neither side holds more than a few batches
 * beyond the data itself. Once all of them are in its memory the receiver answers the
 * coordinator, then confirms to the sender and inserts them into its worker (a worker that
 * fails doing so is a fault like any other: the rows it held are reloaded by id); the sender
 * lets go of a confirmed part. The coordinator learns from the receiver whether it took each
 * part, and tells the sender to drop or keep any it could not confirm: every row ends up
 * exactly once.
 *
 * Neither side waits forever: a peer that goes quiet for the job's liveness limit (before it
 * connects at all, or mid-part) ends that part, which the sender then keeps. Quiet means
 * nothing arrives: the receiver tells the sender while bytes come in (`receiving`, every
 * quarter of the limit), and so does its agent while the sender waits for the worker to be
 * free (peer-rendezvous.ts), so a slow link, on which a message takes longer than the limit,
 * is not taken for a quiet peer.
 */
import type { ExemplarColumns } from '../exemplars/columns.ts';
import { byteSize } from '../exemplars/rows.ts';
import type { Message, MessageChannel } from '../net/message-channel.ts';
import { exemplarBodies, exemplarsFrom } from '../net/payloads.ts';
import type { Endpoint } from '../net/secure-socket.ts';
import type { PeerRendezvous } from './peer-rendezvous.ts';

export interface PeerAccess {
  readonly rendezvous: PeerRendezvous;
  /** A connection to the agent at `endpoint` for one move: kept from an earlier one, or new. */
  open(endpoint: Endpoint): Promise<MessageChannel>;
  /** The move over `channel` ended well (confirmed): it may carry the next one. */
  keep(endpoint: Endpoint, channel: MessageChannel): void;
  /** The job's liveness limit: a peer silent this long is given up on. */
  livenessMs(): number;
}

/**
 * Batches (~1 MB each) per message of a move: each is a body of its own (its own Arrow IPC
 * stream, in memory of its own on arrival), and the message's header, its promise and its
 * wait for the socket are paid once for all of them.
 */
const BATCHES_PER_MESSAGE = 4;

export type Received =
  | { readonly fragments: ExemplarColumns[]; readonly bytes: number; confirm(): void }
  | { readonly fragments: null; readonly reason: string };

/**
 * `p`, or a rejection once `ms` pass with nothing heard (and `onTimeout` has run). With
 * `channel`, bytes arriving on it are heard: a message of several MB takes seconds on a slow
 * link, and is not silence.
 */
function within<T>(
  p: Promise<T>,
  ms: number,
  what: string,
  onTimeout: () => void,
  channel?: MessageChannel,
): Promise<T> {
  const since = performance.now();
  return new Promise<T>((resolve, reject) => {
    const check = () => {
      const silent = performance.now() - Math.max(since, channel?.conn.lastReadAt ?? 0);
      if (silent < ms) {
        timer = setTimeout(check, ms - silent);
        return;
      }
      onTimeout();
      reject(new Error(`${what}: nothing for ${ms} ms`));
    };
    let timer = setTimeout(check, ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

/** Wait for move `ticket`'s sender and take all `rows` rows from it, or nothing. */
export async function receiveDirect(
  peers: PeerAccess,
  ticket: string,
  rows: number,
  dim: number,
  /** Why taking this many rows would break the agent's memory cap, if it would. */
  admit: (rows: number) => string | null,
): Promise<Received> {
  const limit = peers.livenessMs();
  let channel: MessageChannel;
  try {
    channel = await within(peers.rendezvous.await(ticket), limit, 'the sender did not connect', () =>
      peers.rendezvous.cancel(ticket, 'the sender did not connect in time'),
    );
  } catch (error) {
    return { fragments: null, reason: (error as Error).message };
  }
  const fragments: ExemplarColumns[] = [];
  let got = 0;
  let bytes = 0;
  // While bytes come in, the sender hears so: on a slow link the batches it wrote may take
  // longer than the liveness limit to arrive, and it must not take that for a quiet receiver.
  let heardAt = channel.conn.lastReadAt;
  const beat = setInterval(() => {
    if (channel.conn.lastReadAt === heardAt) return;
    heardAt = channel.conn.lastReadAt;
    channel.send({ type: 'receiving' }).catch(() => {});
  }, limit / 4);
  try {
    for (;;) {
      const m: Message = await within(
        channel.next(),
        limit,
        'the sender went quiet',
        () => channel.destroy('the sender went quiet'),
        channel,
      );
      if (m.header.type === 'end') break;
      if (m.header.type !== 'rows') throw new Error(`unexpected ${String(m.header.type)} in a move`);
      const last = m.header.end === true;
      for (const b of m.bodies) bytes += b.byteLength;
      for (const f of await exemplarsFrom(m.bodies, dim)) {
        got += f.count;
        fragments.push(f);
      }
      const why = admit(got);
      if (why) throw new Error(why);
      if (got > rows) throw new Error(`the sender sent more than the ${rows} rows of the move`);
      if (last) break;
    }
    if (got !== rows) throw new Error(`the sender sent ${got} of the ${rows} rows of the move`);
    clearInterval(beat);
  } catch (error) {
    clearInterval(beat);
    const reason = (error as Error).message;
    channel.send({ type: 'refused', reason }).catch(() => {});
    channel.destroy(reason);
    peers.rendezvous.done(ticket);
    return { fragments: null, reason };
  }
  peers.rendezvous.done(ticket);
  return {
    fragments,
    bytes,
    confirm() {
      // The connection stays open: the sender keeps it for its next move to this agent.
      channel.send({ type: 'committed', rows }).catch(() => {});
    },
  };
}

export interface SendPart {
  readonly ticket: string;
  readonly host: string;
  readonly port: number;
  /** The receiving worker's slot on that agent (the ticket names it there; kept for messages). */
  readonly slot: number;
}

export interface Sent {
  readonly delivered: boolean;
  readonly bytes: number;
  readonly reason?: string;
}

/**
 * Stream each part to its receiver, all receivers at once. `fragments` may still be on
 * their way out of the worker: each part's connection and ticket go out meanwhile, so the
 * receiver is ready for the first batch by the time the rows are (a part whose rows never
 * come is not delivered).
 */
export function sendDirect(
  peers: PeerAccess,
  parts: readonly SendPart[],
  fragments: Promise<readonly (readonly ExemplarColumns[])[]>,
): Promise<Sent[]> {
  fragments.catch(() => {}); // the caller sees an extract's failure; here it only ends the parts
  return Promise.all(
    parts.map((p, k) => {
      const mine = fragments.then((all) => all[k]);
      mine.catch(() => {}); // awaited by sendOne unless its connection failed first
      return sendOne(peers, p, mine);
    }),
  );
}

async function sendOne(
  peers: PeerAccess,
  part: SendPart,
  rows: Promise<readonly ExemplarColumns[]>,
): Promise<Sent> {
  const limit = peers.livenessMs();
  let bytes = 0;
  let channel: MessageChannel | null = null;
  let kept = false;
  const endpoint = { host: part.host, port: part.port };
  try {
    channel = await within(peers.open(endpoint), limit, 'the receiver did not answer', () => {});
    const c = channel;
    const quiet = () => c.destroy('the receiver went quiet');
    await within(c.send({ type: 'move', ticket: part.ticket }), limit, 'the receiver stopped reading', quiet);
    const fragments = await rows;
    if (fragments.length === 0)
      await within(c.send({ type: 'end' }), limit, 'the receiver stopped reading', quiet);
    for (let at = 0; at < fragments.length; at += BATCHES_PER_MESSAGE) {
      const group = fragments.slice(at, at + BATCHES_PER_MESSAGE);
      const bodies = await exemplarBodies(group);
      for (const f of group) bytes += byteSize(f);
      // The last message also ends the part: one write less, one wake-up less on the receiver.
      const header =
        at + BATCHES_PER_MESSAGE >= fragments.length ? { type: 'rows', end: true } : { type: 'rows' };
      // Resolves once the socket has taken the batches: back-pressure bounds what is buffered.
      // The receiver says it is receiving (a 4 MB message takes 3.4 s at 10 Mbit/s).
      await within(c.send(header, bodies), limit, 'the receiver stopped reading', quiet, c);
    }
    let ack: Message;
    do ack = await within(c.next(), limit, 'the receiver did not confirm', quiet, c);
    while (ack.header.type === 'receiving');
    if (ack.header.type !== 'committed') throw new Error(String(ack.header.reason ?? 'the receiver refused'));
    peers.keep(endpoint, c);
    kept = true;
    return { delivered: true, bytes };
  } catch (error) {
    return { delivered: false, bytes, reason: (error as Error).message };
  } finally {
    // Anything but a confirmed move leaves the connection in an unknown state: it ends here.
    if (!kept) channel?.close();
  }
}
