import type { ExemplarColumns } from '../exemplars/columns.ts';
import { byteSize } from '../exemplars/rows.ts';
import { transfersBySender } from '../partition/transfer-plan.ts';
import type { Transfer } from '../partition/types.ts';
import { firstError, settled } from './faults.ts';
import type { WorkerLink } from './worker-link.ts';

export interface MoveResult {
  readonly bytes: number;
  /** Per sender: ms (on `clock`) when it had handed over all it had to give. */
  readonly senderDoneAt: ReadonlyMap<number, number>;
  /** Exemplars held by each worker afterwards, as the workers report it. */
  readonly held: readonly number[];
}

/**
 * Carry out a transfer plan: every sender cuts its fragments for all its receivers in
 * one request, and each fragment goes on to its receiver as soon as it arrives, so a
 * vacated worker's data flows to several receivers at once. Buffers are transferred
 * (moved, not copied) at each hop. Workers that can reach each other (agents) move the
 * rows themselves (`WorkerLink.moveTo`): the coordinator only sends the plan.
 */
export async function moveData(
  workers: readonly WorkerLink[],
  transfers: readonly Transfer[],
  clock: () => number,
  /** A sender's reply that the move did not wait for (`DirectMoveResult.senderReply`). */
  onSenderReply: (reply: Promise<void>) => void = () => {},
): Promise<MoveResult> {
  const bySender = transfersBySender(transfers);
  const held = new Array<number>(workers.length).fill(-1);
  const senderDoneAt = new Map<number, number>();
  let bytes = 0;
  // Every delivery is turned into a settled result the moment it is made, so none can reject
  // unobserved while other extracts are still pending.
  const deliveries: Promise<PromiseSettledResult<void>>[] = [];
  // Settle every call before reporting a fault: recovery must not race a delivery still in flight.
  const extracted = await Promise.allSettled(
    [...bySender].map(async ([from, list]) => {
      let relay = list;
      const direct = workers[from].moveTo?.(list.map((t) => ({ count: t.count, to: workers[t.to] })));
      if (direct) {
        const r = await direct;
        if (r.senderReply) onSenderReply(r.senderReply);
        held[from] = r.held;
        list.forEach((t, k) => {
          held[t.to] = Math.max(held[t.to], r.receivers[k]);
        });
        bytes += r.bytes;
        // What could not go directly (receiver unreachable from the sender, a peer gone quiet)
        // goes through the coordinator instead: a vacated host must still end up empty.
        relay = list.flatMap((t, k) => (r.undelivered[k] > 0 ? [{ ...t, count: r.undelivered[k] }] : []));
        if (relay.length === 0) {
          senderDoneAt.set(from, clock());
          return;
        }
      }
      const reply = await workers[from].extract(relay.map((t) => t.count));
      senderDoneAt.set(from, clock());
      held[from] = reply.held;
      relay.forEach((t, k) => {
        const fragments: readonly ExemplarColumns[] = reply.parts[k];
        for (const f of fragments) bytes += byteSize(f);
        deliveries.push(
          settled(
            workers[t.to].insert(fragments).then((n) => {
              held[t.to] = Math.max(held[t.to], n);
            }),
          ),
        );
      });
    }),
  );
  const delivered = await Promise.all(deliveries);
  const all = [...extracted, ...delivered];
  if (all.some((r) => r.status === 'rejected')) throw firstError(all);
  return { bytes, senderDoneAt, held };
}
