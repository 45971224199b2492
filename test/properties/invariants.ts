/** The checks the property driver applies; each returns a description of the violation, or null. */
import type { EventRecord } from '../../framework/events/types.ts';

export { checkIdsExactlyOnce } from '../runtime/helpers.ts';

/** A finished pass's accumulator against the reference, exact to 1e-9 relative. */
export function sumsDiffer(actual: Float64Array, expected: Float64Array): string | null {
  if (actual.length !== expected.length) return `accumulator length ${actual.length} ≠ ${expected.length}`;
  for (let i = 0; i < expected.length; i++) {
    const tol = 1e-9 * Math.max(1, Math.abs(expected[i]));
    if (!(Math.abs(actual[i] - expected[i]) <= tol)) {
      return `accumulator[${i}] = ${actual[i]}, expected ${expected[i]} (count, Σid, Σid², Σx)`;
    }
  }
  return null;
}

/** An outcome, once given, never changes: `seen` keeps the first one of each event. */
export function outcomeChanged(records: readonly EventRecord[], seen: Map<number, string>): string | null {
  for (const r of records) {
    if (r.outcome === undefined) continue;
    const now = JSON.stringify(r.outcome);
    const before = seen.get(r.seq);
    if (before === undefined) seen.set(r.seq, now);
    else if (before !== now) return `event ${r.seq}: outcome changed from ${before} to ${now}`;
  }
  return null;
}

function dimension(r: EventRecord): string {
  return r.event.type === 'load' ? 'load' : 'availability';
}

/**
 * After the last drain: every event sent has exactly one record and one outcome — rejected
 * exactly when it was invalid, superseded only by a later event for the same host and
 * dimension, applied otherwise.
 */
export function outcomesWrong(records: readonly EventRecord[], valid: readonly boolean[]): string | null {
  if (records.length !== valid.length) return `${valid.length} events sent, ${records.length} recorded`;
  for (const r of records) {
    const o = r.outcome;
    if (o === undefined) return `event ${r.seq} (${JSON.stringify(r.event)}) has no outcome`;
    if ((o.status === 'rejected') !== !valid[r.seq]) {
      return `event ${r.seq} (${JSON.stringify(r.event)}): ${o.status}, but it was ${valid[r.seq] ? 'valid' : 'invalid'}`;
    }
    if (o.status === 'superseded') {
      const by = records[o.by];
      if (!(by && by.seq > r.seq && by.event.host === r.event.host && dimension(by) === dimension(r))) {
        return `event ${r.seq} superseded by ${o.by}, not a later event for the same host and dimension`;
      }
    }
  }
  return null;
}
