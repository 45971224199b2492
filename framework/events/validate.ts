/**
 * Validation of scheduler events, shared by the run-time event queue (which records a bad
 * event as rejected and goes on) and the trace parser (which refuses a bad trace before the
 * job starts). Pure; never throws.
 */
import type { HostName, SchedulerEvent, SchedulerEventType } from './types.ts';

export const EVENT_TYPES: readonly SchedulerEventType[] = ['vacate', 'available', 'load'];

/** True for a load fraction the framework accepts: a finite number in (0, 1]. */
export function isValidFraction(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 && value <= 1;
}

/** The host list for a message, shortened when long: `h0, h1, h2, h3` or `h0, h1, …, h63 (64 hosts)`. */
export function describeHosts(hosts: readonly string[]): string {
  if (hosts.length === 0) return 'none';
  if (hosts.length <= 8) return hosts.join(', ');
  return `${hosts[0]}, ${hosts[1]}, …, ${hosts[hosts.length - 1]} (${hosts.length} hosts)`;
}

/** A value quoted for a one-line message: JSON, cut to `max` characters. */
export function quote(value: unknown, max = 60): string {
  let text: string;
  if (value === undefined) text = 'undefined';
  else if (typeof value === 'number') text = String(value);
  else if (typeof value === 'bigint') text = `${value}n`;
  else if (typeof value === 'function') text = '[function]';
  else if (typeof value === 'symbol') text = value.toString();
  else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      // Cyclic, or nested too deep for the stack (String() of a deep array overflows too).
      text = Array.isArray(value) ? '[an array]' : '[an object]';
    }
  }
  text = text.replace(/[\r\n\u2028\u2029]+/g, ' ');
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** The kind of a JSON-ish value, for "expected X, got Y" messages. */
export function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  switch (typeof value) {
    case 'object':
      return 'an object';
    case 'string':
      return 'a string';
    case 'number':
      return 'a number';
    case 'boolean':
      return 'a boolean';
    default:
      return typeof value;
  }
}

export type EventCheck =
  | { readonly ok: true; readonly event: SchedulerEvent }
  | {
      readonly ok: false;
      /** One line, saying what is wrong and what would be right. */
      readonly reason: string;
      /** The offending field: 'event', 'type', 'host', 'fraction' or 'deadlineMs'. */
      readonly field: 'event' | 'type' | 'host' | 'fraction' | 'deadlineMs';
      /**
       * A best-effort copy of what was received, for the record. NOT a valid event:
       * `type` may be an unknown string, `fraction` may be out of range.
       */
      readonly event: SchedulerEvent;
    };

/**
 * Check one event received at run time (it may come from untyped code, so anything is
 * possible). A valid event is returned as a fresh frozen object holding only its own fields.
 */
export function checkEvent(
  raw: unknown,
  hostSet: ReadonlySet<HostName>,
  hosts: readonly HostName[],
): EventCheck {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return {
      ok: false,
      field: 'event',
      reason: `event is ${kindOf(raw)} (${quote(raw)}), not an object { type, host[, fraction] }`,
      event: Object.freeze({ type: String(quote(raw)), host: '' }) as unknown as SchedulerEvent,
    };
  }
  const r = raw as { type?: unknown; host?: unknown; fraction?: unknown; deadlineMs?: unknown };
  const copy = (): SchedulerEvent => {
    const c: Record<string, unknown> = {
      type: typeof r.type === 'string' ? r.type : quote(r.type),
      host: typeof r.host === 'string' ? r.host : quote(r.host),
    };
    if ('fraction' in r) c.fraction = r.fraction;
    if ('deadlineMs' in r) c.deadlineMs = r.deadlineMs;
    return Object.freeze(c) as unknown as SchedulerEvent;
  };
  if (typeof r.type !== 'string' || !(EVENT_TYPES as readonly string[]).includes(r.type)) {
    return {
      ok: false,
      field: 'type',
      reason: `unknown event type ${quote(r.type)} (expected "vacate", "available" or "load")`,
      event: copy(),
    };
  }
  if (typeof r.host !== 'string') {
    return {
      ok: false,
      field: 'host',
      reason: `host is ${kindOf(r.host)} (${quote(r.host)}), expected a host name (hosts: ${describeHosts(hosts)})`,
      event: copy(),
    };
  }
  if (!hostSet.has(r.host)) {
    return {
      ok: false,
      field: 'host',
      reason: `${quote(r.host)} is not a host of this job (hosts: ${describeHosts(hosts)})`,
      event: copy(),
    };
  }
  const type = r.type as SchedulerEventType;
  if (r.deadlineMs !== undefined && type !== 'vacate') {
    return {
      ok: false,
      field: 'deadlineMs',
      reason: `only vacate takes a deadlineMs, not ${type}`,
      event: copy(),
    };
  }
  if (type === 'load') {
    if (!isValidFraction(r.fraction)) {
      return {
        ok: false,
        field: 'fraction',
        reason:
          r.fraction === undefined
            ? 'load event has no fraction; a load fraction must be a number in (0, 1]'
            : `load fraction ${quote(r.fraction)} is not a number in (0, 1]`,
        event: copy(),
      };
    }
    return { ok: true, event: Object.freeze({ type, host: r.host, fraction: r.fraction }) };
  }
  if (r.deadlineMs !== undefined) {
    const d = r.deadlineMs;
    if (typeof d !== 'number' || !Number.isFinite(d) || d < 0) {
      return {
        ok: false,
        field: 'deadlineMs',
        reason: `vacate deadlineMs ${quote(d)} must be a number of milliseconds ≥ 0`,
        event: copy(),
      };
    }
    return { ok: true, event: Object.freeze({ type: 'vacate' as const, host: r.host, deadlineMs: d }) };
  }
  return { ok: true, event: Object.freeze({ type, host: r.host }) };
}
