/**
 * fast-check generators of scenarios for the real AdmJob (see `scenario.ts`). Biased towards
 * the hard cases: several events at once, hosts vacated down to none, deadlines too short to
 * move everything, events and faults while data moves or while the job recovers, replies
 * slower than the liveness limit, declared speeds unlike the real ones.
 */
import fc from 'fast-check';
import type { FaultKind } from '../../framework/runtime/faults.ts';
import type { Action, MachineState, RawEvent, Scenario, ScriptStep } from './scenario.ts';

export const MAX_HOSTS = 5;

const fractionArb = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(1, 0.5, 0.25, 0.1) },
  { weight: 1, arbitrary: fc.double({ min: 0.05, max: 1, noNaN: true }) },
);

/** Deadlines from "already missed" to "plenty": drops, partial moves and met deadlines. */
const deadlineArb = fc.constantFrom(0, 0.001, 0.01, 0.05, 1, 100);

/** An event the job must reject (unknown host or type, bad fraction, not an object). */
function invalidEventArb(hosts: number): fc.Arbitrary<RawEvent> {
  return fc.constantFrom<RawEvent>(
    { type: 'vacate', host: `h${hosts}` },
    { type: 'reboot', host: 'h0' },
    { type: 'available' },
    { type: 'load', host: 'h0', fraction: 0 },
    { type: 'load', host: 'h0', fraction: 1.5 },
    { type: 'load', host: 'h0', fraction: Number.NaN },
    { type: 'vacate', host: 0 },
    null,
  );
}

function validEventArb(hosts: number): fc.Arbitrary<RawEvent> {
  const host = fc.nat({ max: hosts - 1 }).map((i) => `h${i}`);
  return fc.oneof(
    { weight: 2, arbitrary: fc.record({ type: fc.constant('vacate'), host }) },
    {
      weight: 1,
      arbitrary: fc.record({ type: fc.constant('vacate'), host, deadlineMs: deadlineArb }),
    },
    { weight: 4, arbitrary: fc.record({ type: fc.constant('available'), host }) },
    { weight: 3, arbitrary: fc.record({ type: fc.constant('load'), host, fraction: fractionArb }) },
  );
}

function eventsActionArb(hosts: number): fc.Arbitrary<Action> {
  const one = fc.oneof(
    { weight: 8, arbitrary: validEventArb(hosts).map((e) => ({ e, valid: true })) },
    { weight: 1, arbitrary: invalidEventArb(hosts).map((e) => ({ e, valid: false })) },
  );
  return fc.array(one, { minLength: 1, maxLength: 4 }).map((list) => ({
    kind: 'events' as const,
    events: list.map((x) => x.e),
    valid: list.map((x) => x.valid),
  }));
}

const faultKindArb = fc.constantFrom<FaultKind>('throw', 'exit', 'hang');

function actionArb(hosts: number, livenessMs: number): fc.Arbitrary<Action> {
  const worker = fc.nat({ max: hosts - 1 });
  return fc.oneof(
    { weight: 12, arbitrary: eventsActionArb(hosts) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('fault' as const), worker, fault: faultKindArb }) },
    {
      weight: 2,
      arbitrary: fc.record({ kind: fc.constant('moveFault' as const), worker, fault: faultKindArb }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('slow' as const),
        worker,
        ms: fc.constantFrom(0.5, 3, livenessMs / 2, livenessMs * 1.5),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.constantFrom(1, 20, 200) }),
    },
  );
}

const whenArb = fc.oneof(
  { weight: 10, arbitrary: fc.constant<MachineState | null>(null) },
  { weight: 2, arbitrary: fc.constant<MachineState | null>('redistributing') },
  { weight: 1, arbitrary: fc.constant<MachineState | null>('recovering') },
  { weight: 1, arbitrary: fc.constant<MachineState | null>('waitingForHost') },
  { weight: 1, arbitrary: fc.constant<MachineState | null>('running') },
  // Between passes (reached only when the scenario gives the app time there).
  { weight: 1, arbitrary: fc.constant<MachineState | null>('idle') },
);

function scriptStepArb(hosts: number, livenessMs: number): fc.Arbitrary<ScriptStep> {
  return fc.record({
    gap: fc.oneof(fc.nat({ max: 3 }), fc.nat({ max: 25 })),
    when: whenArb,
    action: actionArb(hosts, livenessMs),
  });
}

/** Every host vacated (in groups, some with deadlines), then one returns: prepended to some scripts. */
function drainToNoneArb(hosts: number): fc.Arbitrary<ScriptStep[]> {
  return fc
    .tuple(
      fc.shuffledSubarray(
        Array.from({ length: hosts }, (_, i) => i),
        { minLength: hosts, maxLength: hosts },
      ),
      fc.array(fc.nat({ max: 12 }), { minLength: hosts, maxLength: hosts }),
      fc.array(fc.oneof(fc.constant(undefined), deadlineArb), { minLength: hosts, maxLength: hosts }),
    )
    .map(([order, gaps, deadlines]) =>
      order.map(
        (h, k): ScriptStep => ({
          gap: gaps[k],
          when: null,
          action: {
            kind: 'events',
            events: [
              deadlines[k] === undefined
                ? { type: 'vacate', host: `h${h}` }
                : { type: 'vacate', host: `h${h}`, deadlineMs: deadlines[k] },
            ],
            valid: [true],
          },
        }),
      ),
    );
}

export interface ScenarioShape {
  readonly maxSteps?: number;
}

export function scenarioArb(shape: ScenarioShape = {}): fc.Arbitrary<Scenario> {
  const maxSteps = shape.maxSteps ?? 14;
  return fc
    .record({
      hosts: fc.integer({ min: 1, max: MAX_HOSTS }),
      livenessMs: fc.constantFrom(5, 50, 3000),
    })
    .chain(({ hosts, livenessMs }) =>
      fc
        .record({
          declared: fc.array(fc.constantFrom(1, 2, 4, 0.5), { minLength: hosts, maxLength: hosts }),
          rates: fc.array(fc.constantFrom(1, 2, 4, 8), { minLength: hosts, maxLength: hosts }),
          emulate: fc.boolean(),
          soloRate: fc.constantFrom(8000, 16_000, 32_000),
          total: fc.oneof(
            { weight: 1, arbitrary: fc.integer({ min: 1, max: 10 }) },
            { weight: 4, arbitrary: fc.integer({ min: 11, max: 160 }) },
          ),
          minIntervalMs: fc.constantFrom(0, 2, 10, 100),
          waitTimeoutMs: fc.constantFrom(5, 50, 60_000),
          minGain: fc.constantFrom(undefined, 0, 0.2),
          rebalance: fc.oneof(
            { weight: 4, arbitrary: fc.constant(true) },
            { weight: 1, arbitrary: fc.constant(false) },
          ),
          copyBytesPerMs: fc.constantFrom(100_000, 5_000),
          maxPasses: fc.integer({ min: 2, max: 6 }),
          betweenPassesMs: fc.constantFrom(0, 0, 1, 5),
          drain: fc.oneof(
            { weight: 4, arbitrary: fc.constant<ScriptStep[]>([]) },
            { weight: 1, arbitrary: drainToNoneArb(hosts) },
          ),
          steps: fc.array(scriptStepArb(hosts, livenessMs), { maxLength: maxSteps }),
          seed: fc.nat(),
          returning: fc.nat({ max: hosts - 1 }),
          returnAfterGiveUp: fc.boolean(),
        })
        .map(
          (r): Scenario => ({
            hosts,
            livenessMs,
            declared: r.declared,
            rates: r.rates,
            emulate: r.emulate,
            soloRate: r.soloRate,
            total: r.total,
            minIntervalMs: r.minIntervalMs,
            waitTimeoutMs: r.waitTimeoutMs,
            minGain: r.minGain,
            rebalance: r.rebalance,
            copyBytesPerMs: r.copyBytesPerMs,
            maxPasses: r.maxPasses,
            betweenPassesMs: r.betweenPassesMs,
            script: [...r.drain, ...r.steps],
            seed: r.seed,
            returning: r.returning,
            returnAfterGiveUp: r.returnAfterGiveUp,
          }),
        ),
    );
}
