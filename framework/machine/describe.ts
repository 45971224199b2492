import type { AnyStateMachine } from 'xstate';

/** A transition's target: named by its path, so `idle.recovering` and `recovering` are told apart. */
interface TargetLike {
  readonly key: string;
  readonly path?: readonly string[];
}

function targetName(n: TargetLike): string {
  return n.path?.length ? n.path.join('.') : n.key;
}

interface TransitionLike {
  readonly target?: readonly TargetLike[];
  readonly guard?: string | { readonly type?: string } | ((...args: never[]) => unknown);
}

/** `→ target (if guard)`, with xstate's internal event names shortened. */
function transition(event: string, t: TransitionLike): string {
  const name = event.startsWith('xstate.done.')
    ? 'done'
    : event.startsWith('xstate.error.')
      ? 'error'
      : event;
  const g = t.guard;
  const guard =
    typeof g === 'string'
      ? ` if ${g}`
      : typeof g === 'function'
        ? ' if …'
        : typeof g?.type === 'string'
          ? ` if ${g.type}`
          : '';
  return `${name}${guard} → ${t.target?.map(targetName).join(', ') ?? '(stay)'}`;
}

interface StateNodeLike {
  readonly key: string;
  readonly type: string;
  readonly states: Record<string, StateNodeLike>;
  readonly initial?: { readonly target: readonly { readonly key: string }[] };
  readonly on: Record<string, readonly TransitionLike[]>;
  readonly always?: readonly TransitionLike[];
  readonly after: readonly {
    readonly target?: readonly TargetLike[];
    readonly eventType: string;
  }[];
  readonly invoke: readonly { readonly src: unknown }[];
  /** Entry actions: named ones are `{ type }` objects (or their name); inline ones are functions. */
  readonly entry: readonly unknown[];
}

/** The name of a named action, else null (an inline `assign` or function says little). */
function actionName(action: unknown): string | null {
  if (typeof action === 'string') return action;
  const type = (action as { type?: unknown } | null)?.type;
  return typeof type === 'string' && !type.startsWith('xstate.') ? type : null;
}

/**
 * A machine's states as an indented outline — initial state marked `*`, final `(final)`,
 * named entry actions, invoked actors and transitions listed — so `admove opt --states` can show what a run
 * may go through.
 */
export function describeMachine(machine: AnyStateMachine): string {
  const lines: string[] = [`machine ${machine.id}`];
  const walk = (node: StateNodeLike, depth: number, initial: string | undefined) => {
    for (const [key, child] of Object.entries(node.states)) {
      const marks = [key === initial ? '*' : ' ', child.type === 'final' ? ' (final)' : ''];
      const details: string[] = [];
      for (const a of child.entry ?? []) {
        const name = actionName(a);
        if (name) details.push(`on entry ${name}`);
      }
      for (const inv of child.invoke) details.push(`runs ${typeof inv.src === 'string' ? inv.src : 'actor'}`);
      for (const [event, ts] of Object.entries(child.on)) {
        if (event.startsWith('xstate.after.')) continue; // listed below as `after delay`
        for (const t of ts) details.push(transition(event, t));
      }
      for (const t of child.always ?? []) details.push(transition('always', t));
      for (const t of child.after) details.push(`after delay → ${t.target?.map(targetName).join(', ')}`);
      const pad = '  '.repeat(depth);
      lines.push(`${pad}${marks[0]} ${key}${marks[1]}${details.length ? `  [${details.join('; ')}]` : ''}`);
      walk(child, depth + 1, child.initial?.target[0]?.key);
    }
  };
  const root = machine.root as unknown as StateNodeLike;
  for (const [event, ts] of Object.entries(root.on)) {
    for (const t of ts) lines.push(`  (from any state) ${transition(event, t)}`);
  }
  walk(root, 1, root.initial?.target[0]?.key);
  return lines.join('\n');
}
