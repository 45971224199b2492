/**
 * Scheduler traces: a scripted list of scheduler events to play against a job.
 *
 * Format (JSON; JSON Schema in scheduler-stub/trace.schema.json, exported as TRACE_SCHEMA_PATH):
 *
 *   {
 *     "description": "optional, free text",
 *     "events": [
 *       { "at": { "iteration": 10 }, "type": "vacate", "host": "h2", "note": "owner is back" },
 *       { "at": { "ms": 1500 }, "type": "load", "host": "h1", "fraction": 0.5 },
 *       { "at": { "iteration": 20 }, "type": "available", "host": "h2" }
 *     ]
 *   }
 *
 * - `at` is exactly one of
 *     `{ "ms": t }`        t ≥ 0 milliseconds of wall clock after the scheduler starts
 *                          (at most 2147483647, about 24.8 days), or
 *     `{ "iteration": k }` a whole number 0 ≤ k ≤ 2^53 − 1: fire once the job has completed
 *                          k iterations (i.e. before its 0-based iteration k starts;
 *                          k = 0 fires when the scheduler starts).
 * - `type` is "vacate" (the owner reclaims the host; all its data must leave), "available"
 *   (it may take work again) or "load" (it now runs at `fraction` of its speed).
 * - `host` must be one of the job's hosts (h0 … h(N-1)).
 * - `fraction` is required for "load" and only allowed there: a number in (0, 1].
 * - `deadlineMs` (optional, "vacate" only): the owner's notice — the host's data must be off
 *   within this many ms of the event; what cannot move in time is reloaded from the source.
 * - `note` (optional string) is carried along for the report. Top level may also hold
 *   "description" and "$schema" (strings). Any other field is an error (it is most likely
 *   a typo of one of these).
 * Entries need not be sorted by time; events at the same time fire in trace order.
 *
 * `parseTrace` validates the whole trace before a job starts and throws a one-line
 * UserError naming the file, the entry and the field, e.g.
 *   trace.json: events[3].host: "h9" is not a host of this job (hosts: h0, h1, h2, h3); use one of those
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { UserError } from '../framework/errors.ts';
import type { HostName, SchedulerEvent, SchedulerEventType } from '../framework/events/types.ts';
import { describeHosts, EVENT_TYPES, isValidFraction, kindOf, quote } from '../framework/events/validate.ts';
import { findDeepNesting, findJsonSyntaxError } from './json-position.ts';

export type TraceTime = { readonly ms: number } | { readonly iteration: number };

export interface TraceEntry {
  readonly at: TraceTime;
  readonly event: SchedulerEvent;
  readonly note?: string;
}

export interface Trace {
  readonly events: readonly TraceEntry[];
  readonly description?: string;
}

/** The largest `at.ms` (setTimeout's limit, about 24.8 days). */
export const MAX_TRACE_MS = 2_147_483_647;

/** Absolute path of the JSON Schema for trace files. */
export const TRACE_SCHEMA_PATH: string = fileURLToPath(new URL('./trace.schema.json', import.meta.url));

const TOP_FIELDS = ['events', 'description', '$schema'];
const ENTRY_FIELDS = ['at', 'type', 'host', 'fraction', 'deadlineMs', 'note'];
const TYPES_TEXT = '"vacate", "available" or "load"';

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function fieldPath(base: string, key: string): string {
  const part = /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${quote(key)}]`;
  return base === '' ? part.replace(/^\./, '') : `${base}${part}`;
}

function got(value: unknown): string {
  return value === undefined ? 'nothing' : `${kindOf(value)} (${quote(value)})`;
}

/** A trace nests 4 levels; far deeper is not a trace (and could overflow recursive code). */
const MAX_NESTING = 32;

/**
 * Parse and completely validate a trace. `file` is only used in messages.
 * Throws UserError (one line: `<file>: <path>: <problem>; <fix>`) on the first problem.
 */
export function parseTrace(text: string, file: string, hosts: readonly HostName[]): Trace {
  const fail = (path: string, problem: string): never => {
    throw new UserError(`${file}: ${path}: ${problem}`);
  };
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  let data: unknown;
  try {
    data = JSON.parse(body);
  } catch (error) {
    let at: ReturnType<typeof findJsonSyntaxError>;
    try {
      at = findJsonSyntaxError(body);
    } catch {
      // The scanner recurses; absurdly deep nesting overflows it. Fall back to JSON.parse's message.
      at = undefined;
    }
    if (at !== undefined) {
      throw new UserError(
        `${file}: line ${at.line}, column ${at.column}: invalid JSON: ${at.message}; fix the JSON syntax there`,
      );
    }
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new UserError(`${file}: invalid JSON: ${message}; fix the JSON syntax`);
  }
  // Valid but absurdly nested JSON: refused before anything walks it recursively.
  const deep = findDeepNesting(body, MAX_NESTING);
  if (deep) {
    throw new UserError(
      `${file}: line ${deep.line}, column ${deep.column}: nested more than ${MAX_NESTING} levels deep; a trace is { "events": [ { "at": {…}, … } ] }`,
    );
  }
  // Safe to scan now that the nesting is known to be shallow (the scanner recurses).
  const twice = findJsonSyntaxError(body, { duplicateKeys: true });
  if (twice !== undefined) {
    throw new UserError(
      `${file}: line ${twice.line}, column ${twice.column}: ${twice.message}; keep one of them`,
    );
  }
  if (!isPlainObject(data)) {
    return fail('(top level)', `expected an object { "events": [ ... ] }, got ${got(data)}`);
  }
  for (const key of Object.keys(data)) {
    if (!TOP_FIELDS.includes(key)) {
      fail(fieldPath('', key), `unknown field; a trace has only "events", "description" and "$schema"`);
    }
  }
  if (data.$schema !== undefined && typeof data.$schema !== 'string') {
    fail('$schema', `expected a string, got ${got(data.$schema)}; make it a string or remove it`);
  }
  let description: string | undefined;
  if (data.description !== undefined) {
    if (typeof data.description !== 'string')
      fail('description', `expected a string, got ${got(data.description)}; make it a string or remove it`);
    description = data.description as string;
  }
  if (!('events' in data))
    fail('events', 'missing; a trace is { "events": [ ... ] } (the list may be empty)');
  const raw = data.events;
  if (!Array.isArray(raw)) return fail('events', `expected an array of events, got ${got(raw)}`);

  const hostSet = new Set(hosts);
  const events: TraceEntry[] = [];
  raw.forEach((entry: unknown, index: number) => {
    const base = `events[${index}]`;
    if (!isPlainObject(entry)) {
      throw fail(base, `expected an object { "at", "type", "host"[, "fraction"] }, got ${got(entry)}`);
    }
    for (const key of Object.keys(entry)) {
      if (!ENTRY_FIELDS.includes(key)) {
        fail(
          fieldPath(base, key),
          `unknown field; an event has only ${ENTRY_FIELDS.map((f) => `"${f}"`).join(', ')}`,
        );
      }
    }
    const at = parseAt(entry.at, `${base}.at`, fail);

    const type = entry.type;
    if (type === undefined) fail(`${base}.type`, `missing; use ${TYPES_TEXT}`);
    if (typeof type !== 'string')
      fail(`${base}.type`, `expected a string, got ${got(type)}; use ${TYPES_TEXT}`);
    if (!(EVENT_TYPES as readonly unknown[]).includes(type)) {
      fail(`${base}.type`, `${quote(type)} is not an event type; use ${TYPES_TEXT}`);
    }

    const host = entry.host;
    if (host === undefined)
      fail(`${base}.host`, `missing; name one of the job's hosts (${describeHosts(hosts)})`);
    if (typeof host !== 'string') {
      fail(
        `${base}.host`,
        `expected a string, got ${got(host)}; name one of the job's hosts (${describeHosts(hosts)})`,
      );
    }
    if (!hostSet.has(host as string)) {
      fail(
        `${base}.host`,
        `${quote(host)} is not a host of this job (hosts: ${describeHosts(hosts)}); use one of those`,
      );
    }

    let event: SchedulerEvent;
    const fraction = entry.fraction;
    if (type === 'load') {
      if (fraction === undefined) {
        fail(`${base}.fraction`, 'missing; a load event needs a fraction in (0, 1], e.g. 0.5 for half speed');
      }
      if (typeof fraction !== 'number') {
        fail(`${base}.fraction`, `expected a number in (0, 1], got ${got(fraction)}`);
      }
      if (!isValidFraction(fraction)) {
        fail(
          `${base}.fraction`,
          `${quote(fraction)} is out of range; a load fraction must be in (0, 1], e.g. 0.5`,
        );
      }
      event = { type: 'load', host: host as string, fraction: fraction as number };
    } else {
      if (fraction !== undefined) {
        fail(`${base}.fraction`, `only "load" events take a fraction; remove it or make the type "load"`);
      }
      event = { type: type as Exclude<SchedulerEventType, 'load'>, host: host as string };
    }
    const deadline = entry.deadlineMs;
    if (deadline !== undefined) {
      if (type !== 'vacate') {
        fail(
          `${base}.deadlineMs`,
          `only "vacate" events take a deadline; remove it or make the type "vacate"`,
        );
      }
      if (typeof deadline !== 'number' || !Number.isFinite(deadline) || deadline < 0) {
        fail(`${base}.deadlineMs`, `expected a number of milliseconds ≥ 0, got ${got(deadline)}`);
      }
      event = { type: 'vacate', host: host as string, deadlineMs: deadline as number };
    }

    const note = entry.note;
    if (note !== undefined && typeof note !== 'string')
      fail(`${base}.note`, `expected a string, got ${got(note)}; make it a string or remove it`);

    events.push(note === undefined ? { at, event } : { at, event, note: note as string });
  });
  return description === undefined ? { events } : { events, description };
}

function parseAt(value: unknown, path: string, fail: (path: string, problem: string) => never): TraceTime {
  const how = 'give "at": { "ms": 1500 } or "at": { "iteration": 10 }';
  if (value === undefined) return fail(path, `missing; ${how}`);
  if (!isPlainObject(value)) return fail(path, `expected an object, got ${got(value)}; ${how}`);
  for (const key of Object.keys(value)) {
    if (key !== 'ms' && key !== 'iteration')
      fail(fieldPath(path, key), 'unknown field; use "ms" or "iteration"');
  }
  const hasMs = value.ms !== undefined;
  const hasIteration = value.iteration !== undefined;
  if (hasMs && hasIteration) fail(path, 'has both "ms" and "iteration"; give exactly one');
  if (!hasMs && !hasIteration) fail(path, `has neither "ms" nor "iteration"; ${how}`);
  if (hasMs) {
    const ms = value.ms;
    if (typeof ms !== 'number')
      return fail(`${path}.ms`, `expected a number of milliseconds ≥ 0, got ${got(ms)}`);
    if (!Number.isFinite(ms))
      return fail(`${path}.ms`, `${quote(ms)} is not a finite number; use milliseconds ≥ 0`);
    if (ms < 0)
      return fail(`${path}.ms`, `${ms} is negative; times count from the scheduler's start, use ≥ 0`);
    if (ms > MAX_TRACE_MS) {
      return fail(`${path}.ms`, `${ms} is too large; the most is ${MAX_TRACE_MS} ms (about 24.8 days)`);
    }
    return { ms: ms + 0 }; // + 0 turns -0 into 0
  }
  const iteration = value.iteration;
  if (typeof iteration !== 'number') {
    return fail(`${path}.iteration`, `expected a whole number of iterations ≥ 0, got ${got(iteration)}`);
  }
  if (!Number.isInteger(iteration)) {
    return fail(`${path}.iteration`, `${quote(iteration)} is not a whole number; use an iteration count ≥ 0`);
  }
  if (iteration < 0) return fail(`${path}.iteration`, `${iteration} is negative; use an iteration count ≥ 0`);
  if (iteration > Number.MAX_SAFE_INTEGER) {
    return fail(`${path}.iteration`, `${iteration} is too large; the most is ${Number.MAX_SAFE_INTEGER}`);
  }
  return { iteration: iteration + 0 }; // + 0 turns -0 into 0
}

/** The JSON text of a trace (what `parseTrace` reads back to an equal trace). */
export function serializeTrace(trace: Trace): string {
  const events = trace.events.map((e) => {
    const out: Record<string, unknown> = {
      at: 'ms' in e.at ? { ms: e.at.ms } : { iteration: e.at.iteration },
    };
    out.type = e.event.type;
    out.host = e.event.host;
    if (e.event.type === 'load') out.fraction = e.event.fraction;
    if (e.event.type === 'vacate' && e.event.deadlineMs !== undefined) out.deadlineMs = e.event.deadlineMs;
    if (e.note !== undefined) out.note = e.note;
    return out;
  });
  const doc = trace.description === undefined ? { events } : { description: trace.description, events };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

function readError(path: string, error: unknown): UserError {
  const code = (error as { code?: unknown } | null)?.code;
  const why =
    code === 'ENOENT'
      ? 'no such file'
      : code === 'EISDIR'
        ? 'it is a directory'
        : code === 'EACCES'
          ? 'permission denied'
          : error instanceof Error
            ? error.message.split('\n')[0]
            : String(error);
  return new UserError(`${path}: cannot read the trace file (${why}); check the trace path`);
}

/** Read and validate a trace file; throws UserError naming the file. */
export async function loadTraceFile(path: string, hosts: readonly HostName[]): Promise<Trace> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw readError(path, error);
  }
  return parseTrace(text, path, hosts);
}

/** Synchronous `loadTraceFile`, for use before a job starts. */
export function loadTraceFileSync(path: string, hosts: readonly HostName[]): Trace {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw readError(path, error);
  }
  return parseTrace(text, path, hosts);
}
