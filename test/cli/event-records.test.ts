/**
 * How an event's record reads where users see it: `admove scheduler`'s line for it
 * (scheduler-command.ts `describeRecord`) and its entry in the run report (report.ts
 * `eventReport`). A vacate applied while its data had nowhere to go says so in both.
 */
import { describe, expect, it } from 'vitest';
import { describeRecord } from '../../apps/cli/scheduler-command.ts';
import { eventReport } from '../../apps/opt/report.ts';
import type { EventRecord } from '../../framework/index.ts';

const vacate = (outcome: EventRecord['outcome']): EventRecord => ({
  seq: 3,
  event: { type: 'vacate', host: 'h2' },
  receivedAt: 10,
  outcome,
});
const WHY =
  'not enough room: 400 exemplars, but the available hosts may hold only 320 (their memory caps); waiting for a host';

describe('an event record as users read it', () => {
  it('an applied vacate whose data left reads as applied, and nothing more', () => {
    const r = vacate({ status: 'applied', appliedAt: 12.4 });
    expect(describeRecord(r)).toBe('#3 vacate h2: applied at 12 ms');
    expect(eventReport(r)).toEqual({
      seq: 3,
      type: 'vacate',
      host: 'h2',
      receivedAt: 10,
      appliedAt: 12.4,
      outcome: 'applied',
    });
  });

  it('an applied vacate whose data had nowhere to go says that it stays, and why', () => {
    const r = vacate({ status: 'applied', appliedAt: 12.4, dataStays: WHY });
    expect(describeRecord(r)).toBe(
      `#3 vacate h2: applied at 12 ms, but its data stays on it for now (${WHY})`,
    );
    expect(eventReport(r)).toMatchObject({ outcome: 'applied', appliedAt: 12.4, dataStays: WHY });
  });

  it('superseded, rejected and pending records', () => {
    expect(describeRecord(vacate({ status: 'superseded', by: 5, at: 11 }))).toBe(
      '#3 vacate h2: superseded by #5',
    );
    expect(describeRecord(vacate({ status: 'rejected', reason: 'unknown host', at: 11 }))).toBe(
      '#3 vacate h2: rejected: unknown host',
    );
    expect(describeRecord(vacate(undefined))).toBe('#3 vacate h2: pending');
    expect(eventReport(vacate(undefined))).toMatchObject({ outcome: 'pending', appliedAt: null });
    expect(eventReport(vacate(undefined))).not.toHaveProperty('dataStays');
  });
});
