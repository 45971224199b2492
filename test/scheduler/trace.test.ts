import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../framework/errors.ts';
import {
  findJsonSyntaxError,
  loadTraceFile,
  loadTraceFileSync,
  MAX_TRACE_MS,
  parseTrace,
  serializeTrace,
  type Trace,
  type TraceEntry,
} from '../../scheduler-stub/index.ts';

const HOSTS = ['h0', 'h1', 'h2', 'h3'];
const FILE = 'my-trace.json';

/** The UserError parseTrace throws for `text` (fails the test when it does not throw one). */
function errorOf(text: string, hosts: readonly string[] = HOSTS): UserError {
  try {
    parseTrace(text, FILE, hosts);
  } catch (error) {
    expect(error).toBeInstanceOf(UserError);
    const e = error as UserError;
    expect(e.message).not.toMatch(/[\r\n\u2028\u2029]/);
    expect(e.message.startsWith(`${FILE}: `)).toBe(true);
    return e;
  }
  throw new Error(`parseTrace accepted ${text}`);
}

/** A trace with these entries (JS values, written as JSON). */
const withEvents = (...events: unknown[]): string => JSON.stringify({ events });

/** The message for a trace whose entries are `before` (all valid) and then `entry`. */
function entryError(entry: unknown, index = 0): string {
  const filler = { at: { ms: 1 }, type: 'vacate', host: 'h0' };
  return errorOf(withEvents(...Array.from({ length: index }, () => filler), entry)).message;
}

const ok = { at: { ms: 10 }, type: 'vacate', host: 'h2' };

describe('parseTrace accepts valid traces', () => {
  it('reads every kind of event and both kinds of time', () => {
    const trace = parseTrace(
      JSON.stringify({
        $schema: './scheduler-stub/trace.schema.json',
        description: 'a test',
        events: [
          { at: { ms: 1500 }, type: 'vacate', host: 'h2', note: 'owner back' },
          { at: { iteration: 10 }, type: 'available', host: 'h2' },
          { at: { iteration: 0 }, type: 'load', host: 'h1', fraction: 0.5 },
          { at: { ms: 0 }, type: 'load', host: 'h0', fraction: 1 },
        ],
      }),
      FILE,
      HOSTS,
    );
    expect(trace).toEqual({
      description: 'a test',
      events: [
        { at: { ms: 1500 }, event: { type: 'vacate', host: 'h2' }, note: 'owner back' },
        { at: { iteration: 10 }, event: { type: 'available', host: 'h2' } },
        { at: { iteration: 0 }, event: { type: 'load', host: 'h1', fraction: 0.5 } },
        { at: { ms: 0 }, event: { type: 'load', host: 'h0', fraction: 1 } },
      ],
    });
  });

  it('accepts an empty list, a byte-order mark, fractional ms and the largest ms', () => {
    expect(parseTrace('{"events":[]}', FILE, HOSTS)).toEqual({ events: [] });
    expect(parseTrace('\uFEFF{"events":[]}', FILE, HOSTS)).toEqual({ events: [] });
    const t = parseTrace(
      withEvents(
        { at: { ms: 2.5 }, type: 'vacate', host: 'h0' },
        { at: { ms: MAX_TRACE_MS }, type: 'available', host: 'h0' },
      ),
      FILE,
      HOSTS,
    );
    expect(t.events.map((e) => e.at)).toEqual([{ ms: 2.5 }, { ms: MAX_TRACE_MS }]);
  });

  it('uses whatever host names the job has', () => {
    const t = parseTrace(withEvents({ at: { ms: 1 }, type: 'vacate', host: 'gpu-box' }), FILE, [
      'cpu',
      'gpu-box',
    ]);
    expect(t.events[0].event.host).toBe('gpu-box');
  });

  it('turns -0 into 0', () => {
    const t = parseTrace(
      '{"events":[{"at":{"ms":-0},"type":"vacate","host":"h0"},{"at":{"iteration":-0},"type":"vacate","host":"h0"}]}',
      FILE,
      HOSTS,
    );
    expect(Object.is((t.events[0].at as { ms: number }).ms, 0)).toBe(true);
    expect(Object.is((t.events[1].at as { iteration: number }).iteration, 0)).toBe(true);
  });
});

describe('parseTrace refuses bad traces with one line naming file, entry and field', () => {
  it('bad JSON: says line and column', () => {
    const m = errorOf(
      '{\n  "events": [\n    { "at": { "ms": 5 }, "type": "vacate" "host": "h1" }\n  ]\n}',
    ).message;
    expect(m).toMatch(/^my-trace\.json: line 3, column 43: invalid JSON: .*; fix the JSON syntax there$/);
    expect(errorOf('{ "events": [ }').message).toMatch(/^my-trace\.json: line 1, column 15: invalid JSON/);
    expect(errorOf('').message).toMatch(/line 1, column 1: invalid JSON: unexpected end of input/);
    expect(errorOf('{"events":[]} x').message).toMatch(/line 1, column 15: .*after the end/);
    expect(errorOf('{"events":[],}').message).toMatch(/line 1, column 14: .*property name/);
    expect(errorOf('{"events":[1,]}').message).toMatch(/line 1, column 14: /);
    expect(errorOf("{'events':[]}").message).toMatch(/line 1, column 2: .*double-quoted/);
    expect(errorOf('{"events":[\n"a\nb"]}').message).toMatch(/line 2, column 3: .*control character/);
    expect(errorOf('{\r\n"events": tru }').message).toMatch(/line 2, column 11: /);
  });

  it('a property given twice in one object: says which and where (JSON.parse would keep the last)', () => {
    const text = '{"events":[\n  { "at": { "ms": 5 }, "type": "vacate", "host": "h1", "host": "h2" }\n]}';
    expect(errorOf(text).message).toBe(
      'my-trace.json: line 2, column 56: property "host" appears twice in one object; keep one of them',
    );
    // Written differently, still the same name; at the top level too.
    expect(
      errorOf('{"events":[{"at":{"ms":1},"type":"vacate","ho\\u0073t":"h1","host":"h1"}]}').message,
    ).toMatch(/line 1, column 60: property "host" appears twice/);
    expect(errorOf('{"events":[],"events":[]}').message).toMatch(
      /line 1, column 14: property "events" appears twice/,
    );
    // The same name in two objects is no duplicate.
    expect(
      parseTrace(
        '{"events":[{"at":{"ms":1},"type":"vacate","host":"h1"},{"at":{"ms":2},"type":"available","host":"h1"}]}',
        FILE,
        HOSTS,
      ).events,
    ).toHaveLength(2);
  });

  it('bad JSON nested absurdly deep still gives a one-line UserError', () => {
    const m = errorOf('['.repeat(200_000)).message;
    expect(m).toMatch(/^my-trace\.json: .*invalid JSON/);
  });

  it('valid JSON nested absurdly deep is refused before it is walked (no stack overflow)', () => {
    const m = errorOf(`${'['.repeat(200_000)}${']'.repeat(200_000)}`).message;
    expect(m).toMatch(/^my-trace\.json: line 1, column 33: nested more than 32 levels deep/);
  });

  it('top level not an object', () => {
    for (const text of ['[]', '3', 'null', '"events"']) {
      expect(errorOf(text).message).toMatch(
        /^my-trace\.json: \(top level\): expected an object \{ "events": \[ \.\.\. \] \}, got /,
      );
    }
  });

  it('events missing or not an array', () => {
    expect(errorOf('{}').message).toBe(
      'my-trace.json: events: missing; a trace is { "events": [ ... ] } (the list may be empty)',
    );
    expect(errorOf('{"events":{}}').message).toBe(
      'my-trace.json: events: expected an array of events, got an object ({})',
    );
    expect(errorOf('{"events":null}').message).toMatch(
      /^my-trace\.json: events: expected an array of events, got null/,
    );
  });

  it('unknown top-level fields (typos) are errors; description and $schema must be strings', () => {
    expect(errorOf('{"event":[]}').message).toBe(
      'my-trace.json: event: unknown field; a trace has only "events", "description" and "$schema"',
    );
    expect(errorOf('{"events":[],"my field":1}').message).toMatch(
      /^my-trace\.json: \["my field"\]: unknown field/,
    );
    expect(errorOf('{"events":[],"description":3}').message).toMatch(
      /^my-trace\.json: description: expected a string, got a number \(3\)/,
    );
    expect(errorOf('{"events":[],"$schema":false}').message).toMatch(
      /^my-trace\.json: \$schema: expected a string/,
    );
  });

  it('an entry that is not an object', () => {
    expect(entryError(7, 2)).toMatch(
      /^my-trace\.json: events\[2\]: expected an object \{ "at", "type", "host"\[, "fraction"\] \}, got a number \(7\)$/,
    );
    expect(entryError(null)).toMatch(/^my-trace\.json: events\[0\]: expected an object/);
    expect(entryError([ok])).toMatch(/got an array/);
  });

  it('unknown fields in an entry (e.g. a typo) and in "at"', () => {
    expect(entryError({ ...ok, hots: 'h1' }, 1)).toBe(
      'my-trace.json: events[1].hots: unknown field; an event has only "at", "type", "host", "fraction", "deadlineMs", "note"',
    );
    expect(entryError({ ...ok, at: { ms: 1, seconds: 2 } }, 3)).toBe(
      'my-trace.json: events[3].at.seconds: unknown field; use "ms" or "iteration"',
    );
  });

  it('type: missing, not a string, unknown', () => {
    const { type: _, ...noType } = ok;
    expect(entryError(noType, 1)).toBe(
      'my-trace.json: events[1].type: missing; use "vacate", "available" or "load"',
    );
    expect(entryError({ ...ok, type: 3 })).toMatch(
      /^my-trace\.json: events\[0\]\.type: expected a string, got a number \(3\); use "vacate"/,
    );
    expect(entryError({ ...ok, type: 'evict' }, 4)).toBe(
      'my-trace.json: events[4].type: "evict" is not an event type; use "vacate", "available" or "load"',
    );
    expect(entryError({ ...ok, type: 'Vacate' })).toMatch(/events\[0\]\.type: "Vacate" is not an event type/);
  });

  it('host: missing, not a string, not a host of the job (listing the valid ones)', () => {
    const { host: _, ...noHost } = ok;
    expect(entryError(noHost, 2)).toBe(
      "my-trace.json: events[2].host: missing; name one of the job's hosts (h0, h1, h2, h3)",
    );
    expect(entryError({ ...ok, host: 2 })).toMatch(
      /^my-trace\.json: events\[0\]\.host: expected a string, got a number \(2\); name one of the job's hosts \(h0, h1, h2, h3\)$/,
    );
    expect(entryError({ ...ok, host: 'h9' }, 3)).toBe(
      'my-trace.json: events[3].host: "h9" is not a host of this job (hosts: h0, h1, h2, h3); use one of those',
    );
    // A job with other hosts: the trace is checked against those.
    const m = errorOf(withEvents({ ...ok, host: 'h3' }), ['h0', 'h1']).message;
    expect(m).toBe(
      'my-trace.json: events[0].host: "h3" is not a host of this job (hosts: h0, h1); use one of those',
    );
  });

  it('fraction: missing, not a number or out of range for load', () => {
    const load = { at: { iteration: 3 }, type: 'load', host: 'h1' };
    expect(entryError(load, 1)).toBe(
      'my-trace.json: events[1].fraction: missing; a load event needs a fraction in (0, 1], e.g. 0.5 for half speed',
    );
    expect(entryError({ ...load, fraction: '0.5' })).toMatch(
      /^my-trace\.json: events\[0\]\.fraction: expected a number in \(0, 1\], got a string \("0\.5"\)$/,
    );
    expect(entryError({ ...load, fraction: null })).toMatch(
      /events\[0\]\.fraction: expected a number in \(0, 1\], got null/,
    );
    for (const fraction of [0, -0.5, 1.0001, 2]) {
      expect(entryError({ ...load, fraction })).toBe(
        `my-trace.json: events[0].fraction: ${fraction} is out of range; a load fraction must be in (0, 1], e.g. 0.5`,
      );
    }
    expect(
      errorOf('{"events":[{"at":{"ms":1},"type":"load","host":"h0","fraction":1e999}]}').message,
    ).toMatch(/events\[0\]\.fraction: Infinity is out of range/);
  });

  it('fraction on a vacate or available event', () => {
    for (const type of ['vacate', 'available']) {
      expect(entryError({ ...ok, type, fraction: 0.5 }, 1)).toBe(
        'my-trace.json: events[1].fraction: only "load" events take a fraction; remove it or make the type "load"',
      );
    }
  });

  it('at: missing, not an object, empty, both ms and iteration', () => {
    const { at: _, ...noAt } = ok;
    expect(entryError(noAt, 1)).toBe(
      'my-trace.json: events[1].at: missing; give "at": { "ms": 1500 } or "at": { "iteration": 10 }',
    );
    expect(entryError({ ...ok, at: 1500 })).toMatch(
      /^my-trace\.json: events\[0\]\.at: expected an object, got a number \(1500\); give "at"/,
    );
    expect(entryError({ ...ok, at: {} })).toMatch(
      /^my-trace\.json: events\[0\]\.at: has neither "ms" nor "iteration"; give/,
    );
    expect(entryError({ ...ok, at: { ms: 1, iteration: 2 } }, 2)).toBe(
      'my-trace.json: events[2].at: has both "ms" and "iteration"; give exactly one',
    );
  });

  it('at.ms: not a number, negative, too large, not finite', () => {
    expect(entryError({ ...ok, at: { ms: '1500' } })).toMatch(
      /^my-trace\.json: events\[0\]\.at\.ms: expected a number of milliseconds ≥ 0, got a string/,
    );
    expect(entryError({ ...ok, at: { ms: null } })).toMatch(
      /events\[0\]\.at\.ms: expected a number of milliseconds ≥ 0, got null/,
    );
    expect(entryError({ ...ok, at: { ms: -1 } }, 5)).toBe(
      "my-trace.json: events[5].at.ms: -1 is negative; times count from the scheduler's start, use ≥ 0",
    );
    expect(entryError({ ...ok, at: { ms: MAX_TRACE_MS + 1 } })).toMatch(
      /events\[0\]\.at\.ms: 2147483648 is too large; the most is 2147483647 ms/,
    );
    expect(errorOf('{"events":[{"at":{"ms":1e999},"type":"vacate","host":"h0"}]}').message).toMatch(
      /events\[0\]\.at\.ms: Infinity is not a finite number; use milliseconds ≥ 0/,
    );
  });

  it('at.iteration: not a number, negative, not a whole number, too large', () => {
    expect(entryError({ ...ok, at: { iteration: '10' } })).toMatch(
      /^my-trace\.json: events\[0\]\.at\.iteration: expected a whole number of iterations ≥ 0, got a string/,
    );
    expect(entryError({ ...ok, at: { iteration: -1 } }, 1)).toBe(
      'my-trace.json: events[1].at.iteration: -1 is negative; use an iteration count ≥ 0',
    );
    expect(entryError({ ...ok, at: { iteration: 2.5 } }, 1)).toBe(
      'my-trace.json: events[1].at.iteration: 2.5 is not a whole number; use an iteration count ≥ 0',
    );
    expect(entryError({ ...ok, at: { iteration: 2 ** 60 } })).toMatch(
      /events\[0\]\.at\.iteration: .* is too large/,
    );
  });

  it('note must be a string', () => {
    expect(entryError({ ...ok, note: 5 }, 1)).toMatch(
      /^my-trace\.json: events\[1\]\.note: expected a string, got a number \(5\)/,
    );
  });

  it('names the first bad entry even after many good ones, and long values are cut short', () => {
    const many = Array.from({ length: 50 }, () => ok);
    const m = errorOf(withEvents(...many, { ...ok, host: 'x'.repeat(500) })).message;
    expect(m).toMatch(/^my-trace\.json: events\[50\]\.host: "x+… is not a host of this job/);
    expect(m.length).toBeLessThan(200);
  });

  it('a value with a line break still gives a one-line message', () => {
    expect(entryError({ ...ok, type: 'va\ncate' })).toMatch(
      /events\[0\]\.type: "va\\ncate" is not an event type/,
    );
  });

  it('lists long host lists in short', () => {
    const hosts = Array.from({ length: 64 }, (_, i) => `h${i}`);
    expect(errorOf(withEvents({ ...ok, host: 'h64' }), hosts).message).toContain(
      '(hosts: h0, h1, …, h63 (64 hosts))',
    );
  });

  it('never throws anything but a one-line UserError for arbitrary input', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.json(),
          fc.jsonValue().map((v) => JSON.stringify({ events: [v] })),
        ),
        (text) => {
          try {
            parseTrace(text, FILE, HOSTS);
          } catch (error) {
            expect(error).toBeInstanceOf(UserError);
            expect((error as Error).message).not.toMatch(/[\r\n]/);
            expect((error as Error).message.startsWith(`${FILE}: `)).toBe(true);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('findJsonSyntaxError', () => {
  it('is undefined for valid JSON and agrees with JSON.parse', () => {
    for (const text of ['{}', '[1, -2.5e+3, "a\\u00e9\\n", true, false, null]', ' {"a":{"b":[]}} ']) {
      expect(findJsonSyntaxError(text)).toBeUndefined();
    }
    fc.assert(
      fc.property(fc.string({ maxLength: 30 }), (text) => {
        let valid = true;
        try {
          JSON.parse(text);
        } catch {
          valid = false;
        }
        expect(findJsonSyntaxError(text) === undefined).toBe(valid);
      }),
      { numRuns: 1000 },
    );
  });

  it('gives offset, line and column', () => {
    expect(findJsonSyntaxError('{"a":\n  01}')).toMatchObject({ offset: 9, line: 2, column: 4 });
    expect(findJsonSyntaxError('"abc')).toMatchObject({ line: 1, column: 5, message: 'unterminated string' });
    expect(findJsonSyntaxError('"\\x"')).toMatchObject({
      line: 1,
      column: 2,
      message: 'invalid escape in string',
    });
  });
});

describe('serializeTrace', () => {
  it('round trips a valid trace', () => {
    const trace: Trace = {
      description: 'round trip',
      events: [
        { at: { ms: 1500 }, event: { type: 'vacate', host: 'h2' }, note: 'gone' },
        { at: { iteration: 10 }, event: { type: 'available', host: 'h2' } },
        { at: { ms: 0.25 }, event: { type: 'load', host: 'h1', fraction: 0.5 } },
      ],
    };
    const text = serializeTrace(trace);
    expect(text.endsWith('\n')).toBe(true);
    expect(parseTrace(text, FILE, HOSTS)).toEqual(trace);
    expect(serializeTrace(parseTrace(text, FILE, HOSTS))).toBe(text);
    expect(parseTrace(serializeTrace({ events: [] }), FILE, HOSTS)).toEqual({ events: [] });
  });

  it('round trips arbitrary valid traces', () => {
    const entry: fc.Arbitrary<TraceEntry> = fc.record(
      {
        at: fc.oneof(
          fc.record({ ms: fc.double({ min: 0, max: MAX_TRACE_MS, noNaN: true }).map((x) => x + 0) }),
          fc.record({ iteration: fc.nat() }),
        ),
        event: fc.oneof(
          fc.record({
            type: fc.constantFrom('vacate' as const, 'available' as const),
            host: fc.constantFrom(...HOSTS),
          }),
          fc.record({
            type: fc.constant('load' as const),
            host: fc.constantFrom(...HOSTS),
            fraction: fc.double({ min: Number.MIN_VALUE, max: 1, noNaN: true }),
          }),
        ),
        note: fc.string(),
      },
      { requiredKeys: ['at', 'event'] },
    );
    fc.assert(
      fc.property(
        fc.record(
          { events: fc.array(entry, { maxLength: 8 }), description: fc.string() },
          { requiredKeys: ['events'] },
        ),
        (trace) => {
          expect(parseTrace(serializeTrace(trace), FILE, HOSTS)).toEqual(trace);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('loadTraceFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'admove-trace-'));

  it('reads and validates a file (async and sync), naming the file in errors', async () => {
    const good = join(dir, 'good.json');
    writeFileSync(good, withEvents(ok));
    const expected = { events: [{ at: { ms: 10 }, event: { type: 'vacate', host: 'h2' } }] };
    await expect(loadTraceFile(good, HOSTS)).resolves.toEqual(expected);
    expect(loadTraceFileSync(good, HOSTS)).toEqual(expected);

    const bad = join(dir, 'bad.json');
    writeFileSync(bad, withEvents(ok, { ...ok, type: 'evict' }));
    await expect(loadTraceFile(bad, HOSTS)).rejects.toThrow(
      `${bad}: events[1].type: "evict" is not an event type`,
    );
    expect(() => loadTraceFileSync(bad, HOSTS)).toThrow(UserError);
  });

  it('a missing file or a directory is a UserError naming the path', async () => {
    const missing = join(dir, 'nope.json');
    await expect(loadTraceFile(missing, HOSTS)).rejects.toThrow(
      `${missing}: cannot read the trace file (no such file); check the trace path`,
    );
    expect(() => loadTraceFileSync(missing, HOSTS)).toThrow(UserError);
    await expect(loadTraceFile(dir, HOSTS)).rejects.toThrow(
      `${dir}: cannot read the trace file (it is a directory)`,
    );
  });
});
