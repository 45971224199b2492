/**
 * A direct move between agents, from the coordinator's side: it hands out a ticket per part,
 * asks the sender to stream each part and each receiver to take it, and then — knowing from
 * each receiver whether it took its rows — tells the sender to drop or keep any part it
 * could not confirm. Only the plan, replies and counts pass through the coordinator.
 */
import { randomBytes } from 'node:crypto';
import { firstError, settled } from '../runtime/faults.ts';
import type { DirectMoveResult } from '../runtime/worker-link.ts';
import type { ReceiveReply, RemoteWorker } from './remote-worker.ts';

export interface DirectPart {
  readonly count: number;
  readonly to: RemoteWorker;
}

export async function moveDirect(
  sender: RemoteWorker,
  parts: readonly DirectPart[],
): Promise<DirectMoveResult> {
  const tickets = parts.map(() => randomBytes(9).toString('base64url'));
  // The receivers are asked first. Woken by its request, the sender streams at once (a
  // vacate's rows come from its mirror: rows-mirror.ts) and may take this process's core
  // for milliseconds: asked first, it left the receivers' requests waiting up to 5.7 ms
  // behind the stream (timestamps, issue 10). A receiving agent takes a ticket in either
  // order (peer-rendezvous.ts).
  const receives = parts.map((p, k) => settled(p.to.receiveDirect(tickets[k], p.count, sender.features)));
  const sending = settled(
    sender.sendDirect(
      parts.map((p, k) => ({
        count: p.count,
        ticket: tickets[k],
        host: p.to.endpoint.host,
        port: p.to.endpoint.port,
        slot: p.to.slot,
      })),
    ),
  );
  // A receiver that failed (given up on) or refused never takes its part: its agent turns the
  // sender's connection away now, so the sender stops streaming to nobody and says so, rather
  // than waiting out the liveness limit for a confirmation while this move waits for it.
  receives.forEach((r, k) => {
    void r.then((res) => {
      if (res.status === 'rejected' || res.value.received !== parts[k].count)
        parts[k].to.cancelReceive(tickets[k], 'the receiver did not take it');
    });
  });
  // A sender that failed will never connect, and a part it could not deliver (its receiver
  // unreachable from it, or quiet) will never come: those receivers stop waiting.
  void sending.then((send) => {
    parts.forEach((p, k) => {
      if (send.status === 'rejected') p.to.cancelReceive(tickets[k], 'the sender failed');
      else if (!send.value.delivered[k]) p.to.cancelReceive(tickets[k], 'the sender could not deliver it');
    });
  });
  const received = await Promise.all(receives);
  const took = received.map((r, k) => r.status === 'fulfilled' && r.value.received === parts[k].count);
  if (took.every(Boolean)) {
    // Every row is with its receiver, in its memory (confirmed to the sender right after the
    // receiver answered): the move is over for the job, which goes on without waiting for the
    // sender's reply (a hop through two event loops). The sender has let go of every part it
    // heard confirmed; one whose confirmation it missed (its connection broke right then) it
    // is told to drop. Its next request waits behind these (the in-order rule), and a sender
    // that failed meanwhile fails that request: what it still held is then recovered.
    // The caller follows it (the redistributor records a late fault); unobserved, it must not crash.
    const senderReply = sending.then(async (send) => {
      if (send.status === 'rejected') throw send.reason;
      for (const [k] of parts.entries()) {
        if (!send.value.delivered[k]) await settled(sender.settleDirect(tickets[k], false));
      }
    });
    senderReply.catch(() => {});
    return {
      senderReply,
      held: -1,
      receivers: received.map((r) => (r as PromiseFulfilledResult<ReceiveReply>).value.held),
      undelivered: parts.map(() => 0),
      bytes: received.reduce((n, r) => n + (r as PromiseFulfilledResult<ReceiveReply>).value.bytes, 0),
    };
  }
  // Some receiver did not take its part: the sender's reply says what it still has.
  const send = await sending;
  let held = send.status === 'fulfilled' ? send.value.held : -1;
  const settles: PromiseSettledResult<number>[] = [];
  const undelivered = parts.map(() => 0);
  if (send.status === 'fulfilled') {
    for (const [k] of received.entries()) {
      if (send.value.delivered[k]) continue;
      if (!took[k]) undelivered[k] = parts[k].count;
      const s = await settled(sender.settleDirect(tickets[k], !took[k]));
      settles.push(s);
      if (s.status === 'fulfilled') held = s.value;
    }
  }
  const all: PromiseSettledResult<unknown>[] = [send, ...received, ...settles];
  if (all.some((r) => r.status === 'rejected')) throw firstError(all);
  return {
    held,
    receivers: received.map((r) => (r.status === 'fulfilled' ? r.value.held : -1)),
    undelivered,
    bytes: send.status === 'fulfilled' ? send.value.bytes : 0,
  };
}
