/**
 * Slurm's compressed lists, expanded without asking Slurm: host lists (`node[01-03,7],gpu1`)
 * and task counts per node (`2(x3),1`). `scontrol show hostnames` is the authority where it
 * runs; this is the fallback, and what the tests check it against.
 */
import { UserError } from '../errors.ts';

/** `node[01-03,7],login` → node01 node02 node03 node7 login (zero padding kept). */
export function expandHostlist(list: string, what = 'host list'): string[] {
  const out: string[] = [];
  for (const item of splitTopLevel(list.trim(), what)) {
    if (item === '') continue;
    out.push(...expandItem(item, what));
  }
  return out;
}

/** Commas outside brackets separate hosts; inside they separate ranges. */
function splitTopLevel(list: string, what: string): string[] {
  const items: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < list.length; i++) {
    const c = list[i];
    if (c === '[') depth++;
    else if (c === ']') depth--;
    if (depth < 0 || depth > 1) throw new UserError(`${what} "${list}": unbalanced brackets`);
    if (c === ',' && depth === 0) {
      items.push(list.slice(start, i));
      start = i + 1;
    }
  }
  if (depth !== 0) throw new UserError(`${what} "${list}": unbalanced brackets`);
  items.push(list.slice(start));
  return items;
}

/** One item, possibly with several bracket groups (`rack[1-2]-n[1-2]`): their product. */
function expandItem(item: string, what: string): string[] {
  const open = item.indexOf('[');
  if (open < 0) return [item];
  const close = item.indexOf(']', open);
  const prefix = item.slice(0, open);
  const rest = expandItem(item.slice(close + 1), what);
  const out: string[] = [];
  for (const part of item.slice(open + 1, close).split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new UserError(`${what} "${item}": "${part}" is not a number or a range a-b`);
    const [, lo, hi = lo] = m;
    const first = Number(lo);
    const last = Number(hi);
    if (last < first) throw new UserError(`${what} "${item}": range ${part} runs backwards`);
    if (last - first > 100_000) throw new UserError(`${what} "${item}": range ${part} is too long`);
    for (let n = first; n <= last; n++) {
      const digits = String(n).padStart(lo.length, '0');
      for (const tail of rest) out.push(prefix + digits + tail);
    }
  }
  return out;
}

/** `SLURM_STEP_TASKS_PER_NODE`: `2(x3),1` → [2, 2, 2, 1], one count per node in list order. */
export function expandTasksPerNode(text: string, what = 'SLURM_STEP_TASKS_PER_NODE'): number[] {
  const out: number[] = [];
  for (const part of text.trim().split(',')) {
    const m = /^(\d+)(?:\(x(\d+)\))?$/.exec(part);
    if (!m) throw new UserError(`${what}="${text}": "${part}" is not N or N(xM)`);
    const count = Number(m[1]);
    const times = Number(m[2] ?? 1);
    if (count < 1 || times < 1) throw new UserError(`${what}="${text}": counts must be ≥ 1`);
    for (let k = 0; k < times; k++) out.push(count);
  }
  return out;
}
