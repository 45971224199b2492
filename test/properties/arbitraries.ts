/**
 * fast-check generators of ADM scenarios (see `adm-model.ts`), shared by the vitest properties and
 * the soak script. Every generator is biased towards the hard cases: several events at once, hosts
 * vacated down to one or none, events during a move, the same host's events coalescing.
 */
import fc from 'fast-check';
import type { RawEvent, Scenario, Step } from './adm-model.ts';

export const MAX_HOSTS = 6;

const fractionArb = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(1, 0.5, 0.25, 0.1, 0.75) },
  { weight: 2, arbitrary: fc.double({ min: 0.01, max: 1, noNaN: true }) },
);

/** Events that `checkEvent` must reject: each is rejected alone and changes nothing. */
function invalidEventArb(hosts: number): fc.Arbitrary<RawEvent> {
  return fc.oneof(
    fc.constant({ type: 'vacate', host: `h${hosts}` }),
    fc.constant({ type: 'reboot', host: 'h0' }),
    fc.constant({ type: 'available' }),
    fc.constant({ type: 'load', host: 'h0', fraction: 0 }),
    fc.constant({ type: 'load', host: 'h0', fraction: 1.5 }),
    fc.constant({ type: 'load', host: 'h0', fraction: Number.NaN }),
    fc.constant({ type: 'load', host: 'h0' }),
    fc.constant({ type: 'vacate', host: 0 }),
    fc.constant(null),
  );
}

/** One event for `hosts` hosts; `vacateWeight` biases towards vacating. */
export function eventArb(hosts: number, vacateWeight = 3): fc.Arbitrary<RawEvent> {
  const host = fc.nat({ max: hosts - 1 }).map((i) => `h${i}`);
  return fc.oneof(
    { weight: vacateWeight, arbitrary: fc.record({ type: fc.constant('vacate' as const), host }) },
    { weight: 3, arbitrary: fc.record({ type: fc.constant('available' as const), host }) },
    {
      weight: 3,
      arbitrary: fc.record({ type: fc.constant('load' as const), host, fraction: fractionArb }),
    },
    { weight: 1, arbitrary: invalidEventArb(hosts) },
  );
}

function eventsArb(hosts: number, max: number, vacateWeight: number): fc.Arbitrary<RawEvent[]> {
  return fc.oneof(
    { weight: 2, arbitrary: fc.constant<RawEvent[]>([]) },
    { weight: 3, arbitrary: fc.array(eventArb(hosts, vacateWeight), { minLength: 1, maxLength: max }) },
  );
}

export function stepArb(hosts: number, vacateWeight = 3): fc.Arbitrary<Step> {
  return fc.record({
    slice: eventsArb(hosts, 4, vacateWeight),
    progress: fc.array(fc.oneof(fc.constantFrom(0, 1), fc.double({ min: 0, max: 1, noNaN: true })), {
      minLength: hosts,
      maxLength: hosts,
    }),
    stopAtEnd: fc.boolean(),
    move: fc.oneof(
      { weight: 3, arbitrary: fc.constant<RawEvent[]>([]) },
      { weight: 2, arbitrary: eventsArb(hosts, 3, vacateWeight) },
    ),
    after: fc.oneof(
      { weight: 4, arbitrary: fc.constant<RawEvent[]>([]) },
      { weight: 1, arbitrary: eventsArb(hosts, 2, vacateWeight) },
    ),
    delivery: fc.nat(),
  });
}

/** Declared ratings: arbitrary, or small integers (exact ties), unrelated to the true speeds. */
const declaredArb = fc.oneof(
  fc.constantFrom(1, 2, 4, 0.5),
  fc.double({ min: 0.05, max: 20, noNaN: true, noDefaultInfinity: true }),
);
/** True speeds, exemplars/s at load 1 (slow enough that a slice of a few exemplars is measurable). */
const trueSpeedArb = fc.oneof(fc.constantFrom(100, 200, 400), fc.integer({ min: 20, max: 800 }));

const totalArb = fc.oneof(
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 8 }) },
  { weight: 3, arbitrary: fc.integer({ min: 9, max: 240 }) },
);
const minGainArb = fc.oneof(
  fc.constant(undefined),
  fc.constant(0),
  fc.double({ min: 0, max: 0.5, noNaN: true }),
);

interface ScenarioShape {
  readonly minHosts?: number;
  readonly maxHosts?: number;
  readonly maxSteps?: number;
  readonly vacateWeight?: number;
}

export function scenarioArb(shape: ScenarioShape = {}): fc.Arbitrary<Scenario> {
  const { minHosts = 1, maxHosts = MAX_HOSTS, maxSteps = 24, vacateWeight = 3 } = shape;
  return fc.integer({ min: minHosts, max: maxHosts }).chain((hosts) =>
    fc.record({
      declared: fc.array(declaredArb, { minLength: hosts, maxLength: hosts }),
      trueSpeeds: fc.array(trueSpeedArb, { minLength: hosts, maxLength: hosts }),
      total: totalArb,
      minGain: minGainArb,
      steps: fc.array(stepArb(hosts, vacateWeight), { maxLength: maxSteps }),
      returning: fc.nat({ max: hosts - 1 }),
      quietPasses: fc.integer({ min: 1, max: 12 }),
    }),
  );
}

/**
 * Vacate hosts one after another (several in the same slice, some during moves) down to one host,
 * then vacate that one too; loads change in between; at the end one host returns.
 */
export function drainToNoneArb(): fc.Arbitrary<Scenario> {
  return fc.integer({ min: 2, max: MAX_HOSTS }).chain((hosts) =>
    fc
      .record({
        declared: fc.array(declaredArb, { minLength: hosts, maxLength: hosts }),
        trueSpeeds: fc.array(trueSpeedArb, { minLength: hosts, maxLength: hosts }),
        total: totalArb,
        minGain: minGainArb,
        order: fc.shuffledSubarray(
          Array.from({ length: hosts }, (_, i) => i),
          { minLength: hosts, maxLength: hosts },
        ),
        groups: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: hosts, maxLength: hosts }),
        filler: fc.array(stepArb(hosts, 0), { minLength: hosts * 2, maxLength: hosts * 2 }),
        duringMove: fc.array(fc.boolean(), { minLength: hosts * 2, maxLength: hosts * 2 }),
        returning: fc.nat({ max: hosts - 1 }),
        quietPasses: fc.integer({ min: 1, max: 8 }),
      })
      .map((r): Scenario => {
        // Cut the vacate order into groups of 1–3 hosts vacated at once.
        const vacates: RawEvent[][] = [];
        for (let k = 0, g = 0; k < r.order.length; g++) {
          const n = Math.min(r.groups[g], r.order.length - k);
          vacates.push(r.order.slice(k, k + n).map((i) => ({ type: 'vacate', host: `h${i}` })));
          k += n;
        }
        const steps: Step[] = [];
        const calm = (step: Step): Step => ({
          ...step,
          slice: step.slice.filter(notAvailable),
          move: step.move.filter(notAvailable),
          after: step.after.filter(notAvailable),
        });
        vacates.forEach((group, g) => {
          const filler = calm(r.filler[g * 2]);
          // A vacate group arrives during a slice, or during the move caused by the previous step
          // (if that step causes none, the scheduler repeats the vacates in the next slice).
          if (r.duringMove[g] && steps.length > 0) {
            const last = steps[steps.length - 1];
            steps[steps.length - 1] = { ...last, move: [...last.move, ...group] };
          }
          steps.push({ ...filler, slice: [...filler.slice, ...group] });
          steps.push(calm(r.filler[g * 2 + 1]));
        });
        return {
          declared: r.declared,
          trueSpeeds: r.trueSpeeds,
          total: r.total,
          minGain: r.minGain,
          steps,
          returning: r.returning,
          quietPasses: r.quietPasses,
        };
      }),
  );
}

function notAvailable(e: RawEvent): boolean {
  return !(e !== null && e.type === 'available');
}
