/**
 * Events typed one per line, as `admove scheduler` reads them from stdin:
 *
 *   vacate h2              vacate h2 deadline 500     available h2
 *   load h3 0.5            add 10.0.0.7:7000          end maintenance at 6   # a comment
 *
 * Pure: a line becomes an event, nothing (blank or comment), or a one-line reason.
 */
import type { SchedulerEvent } from '../framework/events/types.ts';

export type EventLine =
  | { readonly kind: 'event'; readonly event: SchedulerEvent }
  | { readonly kind: 'add'; readonly address: string }
  | { readonly kind: 'end'; readonly reason: string }
  | { readonly kind: 'blank' }
  | { readonly kind: 'error'; readonly reason: string };

const USAGE =
  'expected "vacate HOST [deadline MS]", "available HOST", "load HOST FRACTION", "add HOST:PORT" or "end [REASON]"';

/** The words a line may begin with (besides "end"). */
const VERBS = ['vacate', 'available', 'load', 'add'];

/** An event line is a few words: a longer one is a mistake (and would not fit a control frame). */
export const MAX_LINE_CHARS = 1024;

/** `text` for a message: a long one is cut, so a bad line cannot flood the terminal. */
function quoted(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

export function parseEventLine(line: string): EventLine {
  // A comment may be long; an event is a few words.
  const text = line.replace(/#.*/, '');
  if (text.length > MAX_LINE_CHARS) {
    return {
      kind: 'error',
      reason: `line of ${line.length} characters; an event line has at most ${MAX_LINE_CHARS}`,
    };
  }
  const words = text.trim().split(/\s+/).filter(Boolean);
  if (words.length === 0) return { kind: 'blank' };
  const [verb, host, ...rest] = words;
  if (verb === 'end') return { kind: 'end', reason: words.slice(1).join(' ') };
  if (!VERBS.includes(verb)) return { kind: 'error', reason: `unknown event "${quoted(verb)}"; ${USAGE}` };
  if (host === undefined) return { kind: 'error', reason: `"${verb}" needs a host; ${USAGE}` };
  switch (verb) {
    case 'vacate': {
      if (rest.length === 0) return { kind: 'event', event: { type: 'vacate', host } };
      const ms = Number(rest[1]);
      if (rest[0] !== 'deadline' || rest.length !== 2 || !(Number.isFinite(ms) && ms >= 0)) {
        return {
          kind: 'error',
          reason: `a vacate's deadline is "deadline MS" with MS ≥ 0, got "${quoted(rest.join(' '))}"`,
        };
      }
      return { kind: 'event', event: { type: 'vacate', host, deadlineMs: ms } };
    }
    case 'available':
      if (rest.length > 0) return { kind: 'error', reason: `"available" takes only a host; ${USAGE}` };
      return { kind: 'event', event: { type: 'available', host } };
    case 'load': {
      const fraction = Number(rest[0]);
      if (rest.length !== 1 || !(Number.isFinite(fraction) && fraction > 0 && fraction <= 1)) {
        return {
          kind: 'error',
          reason: `"load ${quoted(host)}" needs a fraction in (0, 1], e.g. load ${quoted(host)} 0.5`,
        };
      }
      return { kind: 'event', event: { type: 'load', host, fraction } };
    }
    case 'add':
      if (rest.length > 0) return { kind: 'error', reason: `"add" takes one HOST:PORT; ${USAGE}` };
      return { kind: 'add', address: host };
    default:
      return { kind: 'error', reason: `unknown event "${quoted(verb)}"; ${USAGE}` };
  }
}
