import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EVENT_TYPES } from '../../framework/events/validate.ts';
import { MAX_TRACE_MS, parseTrace, serializeTrace, TRACE_SCHEMA_PATH } from '../../scheduler-stub/index.ts';

const HOSTS = ['h0', 'h1', 'h2', 'h3'];
const schema = JSON.parse(readFileSync(TRACE_SCHEMA_PATH, 'utf8'));
const ajv = new Ajv2020({ allErrors: true });
const validate = ajv.compile(schema);

function parserAccepts(value: unknown): boolean {
  try {
    parseTrace(JSON.stringify(value), 'x.json', HOSTS);
    return true;
  } catch {
    return false;
  }
}

const ok = { at: { ms: 10 }, type: 'vacate', host: 'h2' };

/** Valid and invalid traces; every host named is a host of the job, so schema and parser must agree. */
const SAMPLES: readonly unknown[] = [
  { events: [] },
  { events: [ok], description: 'd', $schema: 's' },
  { events: [{ at: { iteration: 0 }, type: 'available', host: 'h0', note: 'n' }] },
  { events: [{ at: { ms: 0.5 }, type: 'load', host: 'h1', fraction: 1 }] },
  { events: [{ at: { ms: MAX_TRACE_MS }, type: 'load', host: 'h1', fraction: 1e-9 }] },
  { events: [{ at: { iteration: Number.MAX_SAFE_INTEGER }, type: 'vacate', host: 'h3' }] },
  [],
  3,
  null,
  {},
  { events: {} },
  { events: [ok], extra: 1 },
  { events: [ok], description: 3 },
  { events: [ok], $schema: false },
  { events: [3] },
  { events: [{ ...ok, extra: 1 }] },
  { events: [{ ...ok, type: 'evict' }] },
  { events: [{ ...ok, type: undefined }] },
  { events: [{ ...ok, host: undefined }] },
  { events: [{ ...ok, host: 7 }] },
  { events: [{ ...ok, at: undefined }] },
  { events: [{ ...ok, at: 5 }] },
  { events: [{ ...ok, at: {} }] },
  { events: [{ ...ok, at: { ms: 1, iteration: 1 } }] },
  { events: [{ ...ok, at: { ms: 1, seconds: 1 } }] },
  { events: [{ ...ok, at: { ms: -1 } }] },
  { events: [{ ...ok, at: { ms: MAX_TRACE_MS + 1 } }] },
  { events: [{ ...ok, at: { ms: '1' } }] },
  { events: [{ ...ok, at: { iteration: -1 } }] },
  { events: [{ ...ok, at: { iteration: 1.5 } }] },
  { events: [{ ...ok, at: { iteration: 2 ** 60 } }] },
  { events: [{ ...ok, type: 'load' }] },
  { events: [{ ...ok, type: 'load', fraction: 0 }] },
  { events: [{ ...ok, type: 'load', fraction: 1.5 }] },
  { events: [{ ...ok, type: 'load', fraction: '0.5' }] },
  { events: [{ ...ok, fraction: 0.5 }] },
  { events: [{ ...ok, type: 'available', fraction: 0.5 }] },
  { events: [{ ...ok, note: 5 }] },
];

describe('trace.schema.json', () => {
  it('is valid JSON and a valid 2020-12 schema', () => {
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(ajv.validateSchema(schema)).toBe(true);
  });

  it('has the same required fields, types and fields as the parser', () => {
    expect(schema.required).toEqual(['events']);
    expect(Object.keys(schema.properties).sort()).toEqual(['$schema', 'description', 'events']);
    expect(schema.additionalProperties).toBe(false);
    const event = schema.$defs.event;
    expect(event.required).toEqual(['at', 'type', 'host']);
    expect(Object.keys(event.properties)).toEqual(['at', 'type', 'host', 'fraction', 'deadlineMs', 'note']);
    expect(event.additionalProperties).toBe(false);
    expect(event.properties.type.enum).toEqual([...EVENT_TYPES]);
    expect(event.allOf[0].then).toEqual({ required: ['fraction'] });
    expect(event.allOf[1].else).toEqual({ not: { required: ['deadlineMs'] } });
    const [ms, iteration] = schema.$defs.at.oneOf;
    expect(ms.required).toEqual(['ms']);
    expect(ms.properties.ms.maximum).toBe(MAX_TRACE_MS);
    expect(iteration.required).toEqual(['iteration']);
    expect(iteration.properties.iteration.maximum).toBe(Number.MAX_SAFE_INTEGER);
  });

  it.each(SAMPLES.map((s) => [JSON.stringify(s), s]))('agrees with the parser on %s', (_, sample) => {
    expect(validate(sample)).toBe(parserAccepts(sample));
  });

  it('accepts what serializeTrace writes', () => {
    const text = serializeTrace({
      description: 'd',
      events: [
        { at: { ms: 5 }, event: { type: 'load', host: 'h1', fraction: 0.25 }, note: 'n' },
        { at: { iteration: 3 }, event: { type: 'vacate', host: 'h1' } },
      ],
    });
    expect(validate(JSON.parse(text))).toBe(true);
  });

  it('agrees with the parser on random entries', () => {
    const value = fc.oneof(
      fc.constant(undefined),
      fc.integer({ min: -3, max: 12 }),
      fc.double({ min: -2, max: 2, noNaN: true, noDefaultInfinity: true }),
      fc.constantFrom('h0', 'h3', 'vacate', 'available', 'load', '', null, true),
    );
    const at = fc.oneof(
      fc.record({ ms: value }, { requiredKeys: [] }),
      fc.record({ iteration: value }, { requiredKeys: [] }),
      fc.record({ ms: value, iteration: value }, { requiredKeys: [] }),
      value,
    );
    const entry = fc.record(
      {
        at,
        type: fc.oneof(fc.constantFrom('vacate', 'available', 'load', 'evict'), value),
        // Host strings are only ones the job has: the schema cannot know the job's hosts.
        host: fc.oneof(fc.constantFrom(...HOSTS), fc.constantFrom(undefined, 3, null, true)),
        fraction: value,
        note: fc.oneof(fc.string(), value),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 3 }), (events) => {
        // JSON round trip drops undefined fields, as a file would.
        const trace = JSON.parse(JSON.stringify({ events }));
        expect(validate(trace)).toBe(parserAccepts(trace));
      }),
      { numRuns: 2000 },
    );
  });
});
