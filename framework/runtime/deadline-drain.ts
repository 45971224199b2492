import type { EventRecord } from '../events/types.ts';
import { gatherRows } from '../exemplars/batch.ts';
import type { ExemplarColumns } from '../exemplars/columns.ts';
import type { Transfer } from '../partition/types.ts';
import type { WorkerLink } from './worker-link.ts';

/**
 * Drains with a deadline (`vacate(host, deadlineMs)`): an owner gave notice, and the host's
 * data must be off by then. What can move in time moves (largest fragments first); for the
 * rest, the vacated worker only hands back exemplar ids and processed flags (5 bytes an
 * exemplar) and drops the data;
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

/**
 * Split a plan (largest transfers first) between moving and reloading: a sender with a
 * budget moves at most that many exemplars, the largest fragments first; the rest of its
 * transfers are reloaded from the source. Senders without a budget move everything.
 */
export function splitForDeadlines(
  transfers: readonly Transfer[],
  budgets: ReadonlyMap<number, number>,
): { move: Transfer[]; reload: Transfer[] } {
  const left = new Map(budgets);
  const move: Transfer[] = [];
  const reload: Transfer[] = [];
  for (const t of transfers) {
    const budget = left.get(t.from);
    if (budget === undefined) {
      move.push(t);
      continue;
    }
    const m = Math.min(budget, t.count);
    left.set(t.from, budget - m);
    if (m > 0) move.push({ ...t, count: m });
    if (t.count > m) reload.push({ ...t, count: t.count - m });
  }
  return { move, reload };
}

/** Carry out `transfers` (the rest of dropping senders) by reloading from `source`. */
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
