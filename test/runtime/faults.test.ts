import { describe, expect, it } from 'vitest';
import { AdmJob } from '../../framework/runtime/adm-job.ts';
import type { FaultPlan } from '../../framework/runtime/faults.ts';
import { checkIdsExactlyOnce, expectSameSums, jobOptions, randomColumns, referenceSums } from './helpers.ts';

const N = 6000;
const data = randomColumns(N, 3, 17);
const reference = referenceSums(data);
const params = new Float64Array(1);

type Case = [string, FaultPlan, boolean, boolean];
const base: [string, FaultPlan, boolean][] = [
  ['throws mid-pass', { kind: 'throw', when: 'after-pass', count: 1 }, false],
  [
    'exits mid-pass (piscina would replace it with an empty thread)',
    { kind: 'exit', when: 'after-pass', count: 1 },
    false,
  ],
  ['hangs mid-pass', { kind: 'hang', when: 'after-pass', count: 1 }, false],
  ['throws mid-transfer', { kind: 'throw', when: 'during-transfer', count: 2 }, true],
  ['exits mid-transfer', { kind: 'exit', when: 'during-transfer', count: 2 }, true],
  ['hangs mid-transfer', { kind: 'hang', when: 'during-transfer', count: 2 }, true],
];
// A move either stops every worker (extract, then insert) or, the default on threads, hands the
// rows from thread to thread while all compute: a fault then comes during a pass, between two
// requests (idle) or as a hand-off that never reports.
const cases: Case[] = base.flatMap(([name, plan, viaTransfer]): Case[] =>
  viaTransfer
    ? [
        [`${name} (workers stopped)`, plan, true, false],
        [`${name} (hand-off while computing)`, plan, true, true],
      ]
    : [[name, plan, false, true]],
);

describe('worker faults on real threads: detected, reloaded, still exactly once', () => {
  it.each(cases)(
    'a worker that %s',
    async (_name, plan, viaTransfer, handOff) => {
      // Worker h1 faults. Its first transfer is the initial load, so `during-transfer:2` is
      // the first move of a redistribution, forced here by vacating h1 itself: its rows must
      // leave, whatever the speeds measured so far (a receiver above the common level takes
      // nothing from an evacuation, and one cold pass on 2 cores can put any there).
      const job = await AdmJob.start(
        jobOptions(data, [1, 1, 2, 4], {
          kernelConfig: { spin: 1500 },
          livenessMs: 400,
          injectFaults: new Map([[1, plan]]),
          handOffWhileComputing: handOff,
        }),
      );
      try {
        expectSameSums(await job.pass(params), reference);
        if (viaTransfer) setTimeout(() => job.send({ type: 'vacate', host: 'h1' }), 3);
        const started = performance.now();
        expectSameSums(await job.pass(params), reference);
        const elapsed = performance.now() - started;
        const faults = job.faults();
        expect(faults).toHaveLength(1);
        expect(faults[0].host).toBe('h1');
        expect(faults[0].cause).toBe({ throw: 'threw', exit: 'exited', hang: 'hung' }[plan.kind]);
        const during = !viaTransfer ? /^pass$/ : handOff ? /^(pass|handOff|idle)$/ : /^(insert|extract)$/;
        expect(faults[0].during).toMatch(during);
        expect(faults[0].exemplarsReloaded).toBeGreaterThan(0);
        // Detection is bounded by the liveness limit (plus the pass itself).
        expect(elapsed).toBeLessThan(10_000);
        expect(job.counts()[1]).toBe(0);
        // The failed worker is never used again, even when its host is said to be available.
        job.send({ type: 'available', host: 'h1' });
        expectSameSums(await job.pass(params), reference);
        expect(job.counts()[1]).toBe(0);
        const held = await job.heldIds();
        expect(held[1]).toHaveLength(0);
        expect(checkIdsExactlyOnce(held, N)).toBeNull();
        expect(job.stateTransitions().some((t) => t.actor === 'pass' && t.state === 'recovering')).toBe(true);
      } finally {
        await job.close();
      }
    },
    60_000,
  );
});

describe('a fault that cuts a redistribution short', () => {
  it('names its events in the fault record, as no redistribution record has them', async () => {
    // h1 exits as it takes in its part of h0's rows (its second move: the first was its load).
    // The deadline keeps the move off the hand-off path, where the insert is a move.
    const job = await AdmJob.start(
      jobOptions(data, [1, 1, 1], {
        kernelConfig: { spin: 300 },
        livenessMs: 400,
        injectFaults: new Map([[1, { kind: 'exit', when: 'during-transfer', count: 2 } as FaultPlan]]),
      }),
    );
    try {
      // Before any pass: the shares follow the declared (equal) speeds, so h1 surely takes part
      // of h0's rows. After a pass on a loaded machine, measured speeds could send them all to
      // h2, and h1's fault never fired (seen in a run of the whole suite).
      const vacate = job.send({ type: 'vacate', host: 'h0', deadlineMs: 60_000 });
      expectSameSums(await job.pass(params), reference);
      const faults = job.faults();
      expect(faults).toHaveLength(1);
      expect(faults[0]).toMatchObject({ host: 'h1', cause: 'exited', interruptedEvents: [vacate.seq] });
      expect(job.redistributions().some((r) => r.events.includes(vacate.seq))).toBe(false);
      expect([...job.counts()]).toEqual([0, 0, N]);
      expect(checkIdsExactlyOnce(await job.heldIds(), N)).toBeNull();
    } finally {
      await job.close();
    }
  }, 60_000);
});
