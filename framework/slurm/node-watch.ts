/**
 * Slurm never tells a job that one of its nodes is being drained or has failed (NOTES-SLURM),
 * so the scheduler polls node states and turns them into admove's events. Pure: it is given
 * what `sinfo` and `scontrol show reservation` printed, and the time, and says what to send.
 */
import { expandHostlist } from './hostlist.ts';

/** Base states (sinfo %T, lower case, flags like `*` or `~` removed) in which a node is leaving. */
const LEAVING = new Set([
  'draining',
  'drained',
  'drain',
  'down',
  'fail',
  'failing',
  'maint',
  'reboot_issued',
]);
/** States that say nothing either way (a node reconfiguring): keep what was decided before. */
const UNKNOWN = new Set(['unknown', 'future', 'no_respond', 'powering_up']);

export type NodeAction =
  | { readonly kind: 'vacate'; readonly node: string; readonly state: string; readonly deadlineMs?: number }
  | { readonly kind: 'available'; readonly node: string; readonly state: string }
  /** The coordinator's own node is leaving: stop cleanly with checkpoint and report. */
  | { readonly kind: 'end'; readonly node: string; readonly state: string; readonly reason: string };

export interface Reservation {
  readonly name: string;
  /** Epoch ms. */
  readonly startMs: number;
  readonly nodes: readonly string[];
  readonly flags: readonly string[];
}

/** `sinfo -h -N -o "%N %T"`: node → base state (lower case, without `*`, `~`, `#`, `!`, `%`, `$`, `@`). */
export function parseNodeStates(text: string): Map<string, string> {
  const states = new Map<string, string>();
  for (const line of text.split('\n')) {
    const [node, state] = line.trim().split(/\s+/);
    if (!node || !state) continue;
    states.set(node, state.toLowerCase().replace(/[*~#!%$@^-]+$/, ''));
  }
  return states;
}

/**
 * `scontrol show reservation -o`: one reservation a line of KEY=VALUE pairs. StartTime is
 * the controller's local time without a zone, which is how Date reads it too.
 */
export function parseReservations(text: string): Reservation[] {
  const out: Reservation[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('ReservationName=')) continue;
    const fields = new Map<string, string>();
    for (const m of line.matchAll(/(\w+)=(\S*)/g)) fields.set(m[1], m[2]);
    const startMs = Date.parse(fields.get('StartTime') ?? '');
    const nodes = fields.get('Nodes') ?? '';
    if (!Number.isFinite(startMs) || nodes === '' || nodes === '(null)') continue;
    out.push({
      name: fields.get('ReservationName') ?? '',
      startMs,
      nodes: expandHostlist(nodes, 'reservation nodes'),
      flags: (fields.get('Flags') ?? '').split(',').filter(Boolean),
    });
  }
  return out;
}

/** Follows the job's nodes from poll to poll; each change is acted on once. */
export class NodeWatch {
  private readonly leaving = new Set<string>();
  private nodes: readonly string[];

  constructor(
    nodes: readonly string[],
    /** Task 0's node, where the coordinator runs. */
    private readonly coordinatorNode: string,
  ) {
    this.nodes = nodes;
  }

  /** The job let `node` go: nothing more is said about it. */
  forget(node: string): void {
    this.nodes = this.nodes.filter((n) => n !== node);
    this.leaving.delete(node);
  }

  /** What to send after a poll that saw `states` and `reservations` at `nowMs`. */
  update(
    states: ReadonlyMap<string, string>,
    reservations: readonly Reservation[],
    nowMs: number,
  ): NodeAction[] {
    const actions: NodeAction[] = [];
    for (const node of this.nodes) {
      const state = states.get(node);
      // A node sinfo no longer lists has left the cluster's view: treat it as down.
      const base = state ?? 'down';
      if (UNKNOWN.has(base)) continue;
      const leaving = LEAVING.has(base);
      if (leaving && !this.leaving.has(node)) {
        this.leaving.add(node);
        if (node === this.coordinatorNode) {
          actions.push({
            kind: 'end',
            node,
            state: base,
            reason: `node ${node}, where the coordinator runs, is ${base}`,
          });
          continue;
        }
        const deadlineMs = deadlineFor(node, reservations, nowMs);
        actions.push({
          kind: 'vacate',
          node,
          state: base,
          ...(deadlineMs === undefined ? {} : { deadlineMs }),
        });
      } else if (!leaving && this.leaving.has(node) && node !== this.coordinatorNode) {
        this.leaving.delete(node);
        actions.push({ kind: 'available', node, state: base });
      }
    }
    return actions;
  }
}

/** The time left before the earliest reservation covering `node` starts (a maintenance window). */
function deadlineFor(node: string, reservations: readonly Reservation[], nowMs: number): number | undefined {
  let first: number | undefined;
  for (const r of reservations) {
    if (!r.nodes.includes(node) || r.startMs <= nowMs) continue;
    if (first === undefined || r.startMs < first) first = r.startMs;
  }
  return first === undefined ? undefined : first - nowMs;
}

/** The agents a node's events go to: the node itself, or `node.k` when it runs several tasks. */
export function agentsOnNode(node: string, jobHosts: readonly string[]): string[] {
  if (jobHosts.includes(node)) return [node];
  const pattern = new RegExp(`^${node.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.\\d+$`);
  return jobHosts.filter((h) => pattern.test(h));
}
