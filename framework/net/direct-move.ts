/**
 * A direct move between agents, from the coordinator's side: it hands out a ticket per part,
 * asks each receiver to take the part and the sender to stream it, and then — knowing from
 * each receiver whether it took its rows — tells the sender to drop or keep any part it
 * could not confirm. Only the plan, replies and counts pass through the coordinator.
 */
import { randomBytes } from 'node:crypto';
import { firstError, settled } from '../runtime/faults.ts';
import type { DirectMoveResult } from '../runtime/worker-link.ts';
import type { RemoteWorker } from './remote-worker.ts';

export interface DirectPart {
  readonly count: number;
  readonly to: RemoteWorker;
}

export async function moveDirect(
  sender: RemoteWorker,
  parts: readonly DirectPart[],
): Promise<DirectMoveResult> {
  const tickets = parts.map(() => randomBytes(9).toString('base64url'));
  // The sender is asked first: its side (give up the rows, reach each receiver) is the
  // longer one, and on 2 busy cores the agent written to second may wake only once this
  // process yields (a receiving agent takes a ticket in either order: peer-rendezvous.ts).
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
  const receives = parts.map((p, k) => settled(p.to.receiveDirect(tickets[k], p.count, sender.features)));
  const send = await sending;
  // A sender that failed will never connect: its receivers stop waiting.
  if (send.status === 'rejected') {
    for (const [k, p] of parts.entries()) p.to.cancelReceive(tickets[k], 'the sender failed');
  }
  // A part the sender could not deliver (its receiver unreachable from it, or quiet): the
  // receiver may still be waiting for a sender that will never come.
  if (send.status === 'fulfilled') {
    for (const [k, p] of parts.entries()) {
      if (!send.value.delivered[k]) p.to.cancelReceive(tickets[k], 'the sender could not deliver it');
    }
  }
  const received = await Promise.all(receives);
  let held = send.status === 'fulfilled' ? send.value.held : -1;
  const settles: PromiseSettledResult<number>[] = [];
  const undelivered = parts.map(() => 0);
  if (send.status === 'fulfilled') {
    for (const [k, r] of received.entries()) {
      if (send.value.delivered[k]) continue;
      const took = r.status === 'fulfilled' && r.value.received === parts[k].count;
      if (!took) undelivered[k] = parts[k].count;
      const s = await settled(sender.settleDirect(tickets[k], !took));
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
