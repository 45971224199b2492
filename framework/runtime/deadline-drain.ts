import type { ExemplarColumns } from '../exemplars/columns.ts';
import { gatherRows } from '../exemplars/rows.ts';
import { transfersBySender } from '../partition/transfer-plan.ts';
import type { Transfer } from '../partition/types.ts';
import { firstError, settled } from './faults.ts';
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

/** Whether a move of `bytes` starting `now` would miss the deadline at `bytesPerMs`. */
export function wouldMiss(deadline: Deadline, now: number, bytes: number, bytesPerMs: number): boolean {
  return now + bytes / bytesPerMs > deadline.deadlineAt;
}

/**
 * Per host that would miss its deadline at the observed move speed: how many exemplars can
 * still move in time (the rest will be dropped and reloaded). Hosts that make it are absent.
 */
export function moveBudgets(
  deadlines: ReadonlyMap<number, Deadline>,
  held: readonly number[],
  now: number,
  rowBytes: number,
  bytesPerMs: number,
): Map<number, number> {
  const budgets = new Map<number, number>();
  for (const d of deadlines.values()) {
    if (!wouldMiss(d, now, held[d.worker] * rowBytes, bytesPerMs)) continue;
    budgets.set(d.worker, Math.floor((Math.max(0, d.deadlineAt - now) * bytesPerMs) / rowBytes));
  }
  return budgets;
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

export interface ReloadResult {
  /** Per dropping sender: ms (on `clock`) when it had handed back its ids. */
  readonly senderDoneAt: ReadonlyMap<number, number>;
  /** Workers that dropped everything they held. */
  readonly dropped: ReadonlySet<number>;
  /** Exemplars reloaded in place of each dropping sender's: exactly what it dropped. */
  readonly reloadedFrom: ReadonlyMap<number, number>;
  /** Exemplars each worker held after its last reply here (−1: not involved). */
  readonly held: readonly number[];
}

/**
 * Carry out `transfers` (the rest of dropping senders) by reloading from `source`. Each
 * sender drops everything it still holds and hands back ids and processed flags; every one
 * of those is reloaded — by id, whatever the plan's counts said — to that sender's
 * receivers in the plan's proportions (the last receiver takes any difference). Every call
 * is settled before this returns, and a failure is passed on only then.
 */
export async function reloadFromSource(
  links: readonly WorkerLink[],
  source: ExemplarColumns,
  transfers: readonly Transfer[],
  clock: () => number,
): Promise<ReloadResult> {
  const bySender = transfersBySender(transfers);
  const senderDoneAt = new Map<number, number>();
  const reloadedFrom = new Map<number, number>();
  const dropped = new Set<number>();
  const held = new Array<number>(links.length).fill(-1);
  const inserts: Promise<PromiseSettledResult<void>>[] = [];
  const drops = await Promise.allSettled(
    [...bySender].map(async ([from, list]) => {
      const { ids, processed } = await links[from].drop();
      senderDoneAt.set(from, clock());
      dropped.add(from);
      held[from] = 0;
      reloadedFrom.set(from, ids.length);
      const counts = shareOut(
        ids.length,
        list.map((t) => t.count),
      );
      let offset = 0;
      list.forEach((t, k) => {
        if (counts[k] === 0) return;
        const rows = gatherRows(source, ids.subarray(offset, offset + counts[k]));
        rows.processed.set(processed.subarray(offset, offset + counts[k]));
        offset += counts[k];
        inserts.push(
          settled(
            links[t.to].insert([rows]).then((n) => {
              held[t.to] = Math.max(held[t.to], n);
            }),
          ),
        );
      });
    }),
  );
  const delivered = await Promise.all(inserts);
  const all = [...drops, ...delivered];
  if (all.some((r) => r.status === 'rejected')) throw firstError(all);
  return { senderDoneAt, dropped, reloadedFrom, held };
}

/**
 * Split `total` rows over slots planned for `planned` rows: each takes its planned count
 * while rows last, and the last one takes whatever is left over.
 */
export function shareOut(total: number, planned: readonly number[]): number[] {
  let left = total;
  const out = planned.map((p) => {
    const n = Math.min(p, left);
    left -= n;
    return n;
  });
  if (out.length > 0) out[out.length - 1] += left;
  return out;
}
