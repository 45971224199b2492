import type { EventRecord } from '../events/types.ts';
import { gatherRows } from '../exemplars/batch.ts';
import type { ExemplarColumns } from '../exemplars/columns.ts';
import type { Transfer } from '../partition/types.ts';
import type { WorkerLink } from './worker-link.ts';

/**
 * Drains with a deadline (`vacate(host, deadlineMs)`): an owner gave notice, and the host's
 * data must be off by then. If moving it cannot make the deadline, the vacated worker only
 * hands back its exemplar ids and processed flags (5 bytes an exemplar) and drops its data;
 * the receivers get those exemplars reloaded from the data source, flags included, so
 * nothing is lost and nothing is counted twice.
 */
export interface Deadline {
  readonly worker: number;
  readonly host: string;
  readonly deadlineMs: number;
  /** On the run clock. */
  readonly deadlineAt: number;
}

/** The deadlines of the vacate events a drain applied, by worker. */
export function deadlinesOf(
  applied: readonly EventRecord[],
  hosts: readonly string[],
): Map<number, Deadline> {
  const out = new Map<number, Deadline>();
  for (const r of applied) {
    const e = r.event;
    if (e.type !== 'vacate' || e.deadlineMs === undefined) continue;
    const worker = hosts.indexOf(e.host);
    out.set(worker, {
      worker,
      host: e.host,
      deadlineMs: e.deadlineMs,
      deadlineAt: r.receivedAt + e.deadlineMs,
    });
  }
  return out;
}

/** Whether a move of `bytes` starting `now` would miss the deadline at `bytesPerMs`. */
export function wouldMiss(deadline: Deadline, now: number, bytes: number, bytesPerMs: number): boolean {
  return now + bytes / bytesPerMs > deadline.deadlineAt;
}

/** Carry out `transfers` (all from dropping senders) by reloading from `source`. */
export async function reloadFromSource(
  links: readonly WorkerLink[],
  source: ExemplarColumns,
  transfers: readonly Transfer[],
  clock: () => number,
): Promise<{ senderDoneAt: Map<number, number>; exemplars: number }> {
  const bySender = new Map<number, Transfer[]>();
  for (const t of transfers) bySender.set(t.from, [...(bySender.get(t.from) ?? []), t]);
  const senderDoneAt = new Map<number, number>();
  let exemplars = 0;
  await Promise.all(
    [...bySender].map(async ([from, list]) => {
      const { ids, processed } = await links[from].drop();
      senderDoneAt.set(from, clock());
      let offset = 0;
      await Promise.all(
        list.map((t) => {
          const rows = gatherRows(source, ids.subarray(offset, offset + t.count));
          rows.processed.set(processed.subarray(offset, offset + t.count));
          offset += t.count;
          exemplars += t.count;
          return links[t.to].insert([rows]);
        }),
      );
    }),
  );
  return { senderDoneAt, exemplars };
}
