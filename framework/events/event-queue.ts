/**
 * The job's queue of scheduler events. Pure: no I/O, no timers, no clock (the caller
 * passes `now`, milliseconds since the run started).
 *
 * Life of an event
 * ----------------
 * `receive(event, now)` may be called at any moment, also while a redistribution is under
 * way; it never throws for a bad event. The event gets the next sequence number (0, 1, 2, …)
 * and a record, and either
 *   - is REJECTED at once (unknown type, unknown host, load fraction not in (0, 1], not an
 *     object) with a one-line reason, or
 *   - waits in the queue until the next `drain(now)`, which APPLIES it (appliedAt = now), or
 *   - is SUPERSEDED, before it is applied, by a later event that makes it irrelevant
 *     (outcome `{ by: <seq of that event>, at: <when that event was received> }`).
 * Events received after a drain (e.g. while the drain's result is being acted on) wait for
 * the next drain. Every event ends with exactly one outcome; none is lost or applied twice.
 *
 * Host state and the coalescing rule
 * ----------------------------------
 * Each host has a state `{ available: boolean; load: number }`, initially
 * `{ available: true, load: 1 }`. It has two independent dimensions:
 *   - availability, set by `vacate` (false) and `available` (true);
 *   - load, set by `load` (fraction in (0, 1]).
 * A `load` does not un-vacate a host and a `vacate` does not forget its load: a host can be
 * loaded, vacated, and when it comes back it still runs at the load fraction last given.
 *
 * Applying events in order therefore leaves, per host, availability = the last
 * vacate/available for it and load = the last load for it. So, among the events waiting for
 * the same drain, an event is superseded exactly when a later event for the SAME host and
 * the SAME dimension arrives: it would be overwritten before anyone could act on it.
 * Nothing else supersedes anything (a vacate does not supersede a pending load; events in
 * different drain windows are all applied). Coalescing happens on receive, so the queue
 * holds at most one pending event per host per dimension (`pendingSize ≤ 2 × hosts`)
 * however many events arrive. The state after each drain equals the state reached by
 * applying every valid event received so far in order.
 *
 * Note that `vacate` then `available` for the same host within one drain window leaves the
 * host as it was (the vacate is superseded): the job never had to act on it, and the drain
 * reports no change for that host. `drain().changed` is false when no host state differs
 * from before the drain, so the caller can skip a redistribution.
 *
 * Records and memory
 * ------------------
 * `summary` counts every event (received = applied + superseded + rejected + pending).
 * `records()` keeps full per-event records only for the first `recordLimit` events
 * (default 10,000; pass Infinity to keep all); later events are still counted and their
 * records are still returned by `receive` and `drain`, but not retained by the queue, so
 * memory stays bounded under an event storm (`summary.recordsOmitted` says how many).
 *
 * The queue does not decide what to do when every host is vacated: the owner's word
 * stands; the job must hold its data nowhere it is not allowed and wait for an `available`.
 */
import type { EventRecord, HostName, SchedulerEvent } from './types.ts';
import { checkEvent } from './validate.ts';

export interface HostState {
  /** False after `vacate` (until a later `available`): the host must hold no data. */
  readonly available: boolean;
  /** The fraction of its speed the host gives the job, in (0, 1]; 1 until a `load` event. */
  readonly load: number;
}

export const INITIAL_HOST_STATE: HostState = Object.freeze({ available: true, load: 1 });
const JOINING_HOST_STATE: HostState = Object.freeze({ available: false, load: 1 });

/** One host whose state a drain changed. */
export interface HostChange {
  readonly host: HostName;
  readonly before: HostState;
  readonly after: HostState;
}

export interface DrainResult {
  /** The events applied by this drain (at most two per host), in sequence order. */
  readonly applied: readonly EventRecord[];
  /** Hosts whose state differs after the drain, in host order. Empty when nothing changed. */
  readonly changes: readonly HostChange[];
  /** `changes.length > 0`: false means a redistribution can be skipped. */
  readonly changed: boolean;
  /** The state of every host after the drain, in host order. */
  readonly states: ReadonlyMap<HostName, HostState>;
}

export interface EventSummary {
  readonly received: number;
  readonly applied: number;
  readonly superseded: number;
  readonly rejected: number;
  /** Received but not yet applied or superseded (waiting for the next drain). */
  readonly pending: number;
  /** Records retained by `records()`. */
  readonly recordsKept: number;
  /** Events counted but whose records were not retained (beyond `recordLimit`). */
  readonly recordsOmitted: number;
}

export interface EventQueueOptions {
  /** Keep full records for the first this-many events (default 10,000; Infinity keeps all). */
  readonly recordLimit?: number;
  /** Why this job refuses a well-formed event (null: accepted), e.g. a build that cannot move data. */
  readonly refuse?: (event: SchedulerEvent) => string | null;
}

export const DEFAULT_RECORD_LIMIT = 10_000;

interface PendingSlots {
  availability?: EventRecord;
  load?: EventRecord;
}

export class EventQueue {
  private readonly hostList: HostName[];
  readonly recordLimit: number;
  private readonly hostSet: Set<HostName>;
  private readonly state = new Map<HostName, HostState>();
  /** Only hosts with at least one pending event. */
  private readonly waiting = new Map<HostName, PendingSlots>();
  private readonly kept: EventRecord[] = [];
  private nextSeq = 0;
  private pendingCount = 0;
  private appliedCount = 0;
  private supersededCount = 0;
  private rejectedCount = 0;
  private readonly refuse: ((event: SchedulerEvent) => string | null) | undefined;

  constructor(hosts: readonly HostName[], options: EventQueueOptions = {}) {
    const set = new Set(hosts);
    if (set.size !== hosts.length)
      throw new RangeError(`EventQueue: duplicate host names in ${hosts.join(', ')}`);
    const limit = options.recordLimit ?? DEFAULT_RECORD_LIMIT;
    if (!(limit === Number.POSITIVE_INFINITY || (Number.isInteger(limit) && limit >= 0))) {
      throw new RangeError(
        `EventQueue: recordLimit must be a non-negative integer or Infinity, got ${limit}`,
      );
    }
    this.hostList = [...hosts];
    this.hostSet = set;
    this.recordLimit = limit;
    this.refuse = options.refuse;
    for (const h of hosts) this.state.set(h, INITIAL_HOST_STATE);
  }

  get hosts(): readonly HostName[] {
    return this.hostList;
  }

  /**
   * A host joined the job, with no event pending and not yet available: the `available`
   * event that brings it in then changes that (and its redistribution says `available`).
   */
  addHost(host: HostName): void {
    if (this.hostSet.has(host)) throw new RangeError(`EventQueue: host ${host} is already in the job`);
    this.hostList.push(host);
    this.hostSet.add(host);
    this.state.set(host, JOINING_HOST_STATE);
  }

  /**
   * Take one event from the scheduler. Returns its record; the record's `outcome` is set
   * now if rejected, later (by a drain or a superseding event) otherwise. Never throws for
   * a bad event.
   */
  receive(event: SchedulerEvent, now: number): EventRecord {
    const seq = this.nextSeq++;
    const check = checkEvent(event, this.hostSet, this.hosts);
    const record: EventRecord = { seq, event: check.event, receivedAt: now };
    if (this.kept.length < this.recordLimit) this.kept.push(record);
    const refusal = check.ok ? (this.refuse?.(check.event) ?? null) : check.reason;
    if (!check.ok || refusal !== null) {
      record.outcome = { status: 'rejected', reason: refusal ?? 'refused', at: now };
      this.rejectedCount++;
      return record;
    }
    const { host } = check.event;
    let slots = this.waiting.get(host);
    if (slots === undefined) {
      slots = {};
      this.waiting.set(host, slots);
    }
    const dimension = check.event.type === 'load' ? 'load' : 'availability';
    const earlier = slots[dimension];
    if (earlier !== undefined) {
      earlier.outcome = { status: 'superseded', by: seq, at: now };
      this.supersededCount++;
      this.pendingCount--;
    }
    slots[dimension] = record;
    this.pendingCount++;
    return record;
  }

  /** True when some event waits for a drain. */
  get pending(): boolean {
    return this.pendingCount > 0;
  }

  /** Whether the last pending availability event for `host` is a vacate: send it no data. */
  vacatePending(host: HostName): boolean {
    return this.waiting.get(host)?.availability?.event.type === 'vacate';
  }

  /** Whether the last pending availability event for `host` is an available: it may take data. */
  availablePending(host: HostName): boolean {
    return this.waiting.get(host)?.availability?.event.type === 'available';
  }

  /** Some event waits, and every one waiting is a vacate without a deadline. */
  onlyVacatesPending(): boolean {
    if (this.pendingCount === 0) return false;
    for (const slots of this.waiting.values()) {
      const e = slots.availability?.event;
      if (
        slots.load !== undefined ||
        (e !== undefined && (e.type !== 'vacate' || e.deadlineMs !== undefined))
      ) {
        return false;
      }
    }
    return true;
  }

  /** Events waiting for a drain; at most `2 × hosts.length` whatever was received. */
  get pendingSize(): number {
    return this.pendingCount;
  }

  /** Apply every waiting event (see the coalescing rule above), marking each applied at `now`. */
  drain(now: number): DrainResult {
    const applied: EventRecord[] = [];
    const changes: HostChange[] = [];
    if (this.pendingCount > 0) {
      for (const host of this.hosts) {
        const slots = this.waiting.get(host);
        if (slots === undefined) continue;
        const before = this.state.get(host)!;
        let { available, load } = before;
        if (slots.availability !== undefined) {
          available = slots.availability.event.type === 'available';
          applied.push(slots.availability);
        }
        if (slots.load !== undefined) {
          const e = slots.load.event;
          if (e.type === 'load') load = e.fraction;
          applied.push(slots.load);
        }
        if (available !== before.available || load !== before.load) {
          const after: HostState = Object.freeze({ available, load });
          this.state.set(host, after);
          changes.push({ host, before, after });
        }
      }
      this.waiting.clear();
      applied.sort((a, b) => a.seq - b.seq);
      for (const r of applied) r.outcome = { status: 'applied', appliedAt: now };
      this.appliedCount += applied.length;
      this.pendingCount = 0;
    }
    return { applied, changes, changed: changes.length > 0, states: this.states() };
  }

  /** The current (last drained) state of `host`. Throws RangeError for a host not in the job. */
  hostState(host: HostName): HostState {
    const s = this.state.get(host);
    if (s === undefined) throw new RangeError(`EventQueue.hostState: ${JSON.stringify(host)} is not a host`);
    return s;
  }

  /** A snapshot of every host's current state, in host order. */
  states(): ReadonlyMap<HostName, HostState> {
    return new Map(this.state);
  }

  /** Hosts currently available (not vacated), in host order. */
  availableHosts(): HostName[] {
    return this.hosts.filter((h) => this.state.get(h)!.available);
  }

  /** Records of the first `recordLimit` events received, in sequence order (for the report). */
  records(): readonly EventRecord[] {
    return this.kept;
  }

  get summary(): EventSummary {
    return {
      received: this.nextSeq,
      applied: this.appliedCount,
      superseded: this.supersededCount,
      rejected: this.rejectedCount,
      pending: this.pendingCount,
      recordsKept: this.kept.length,
      recordsOmitted: this.nextSeq - this.kept.length,
    };
  }
}
