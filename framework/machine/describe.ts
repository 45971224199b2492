import type { AnyStateMachine } from 'xstate';

interface StateNodeLike {
  readonly key: string;
  readonly type: string;
  readonly states: Record<string, StateNodeLike>;
  readonly initial?: { readonly target: readonly { readonly key: string }[] };
  readonly on: Record<string, readonly { readonly target?: readonly { readonly key: string }[] }[]>;
  readonly always?: readonly { readonly target?: readonly { readonly key: string }[] }[];
  readonly after: readonly {
    readonly target?: readonly { readonly key: string }[];
    readonly eventType: string;
  }[];
  readonly invoke: readonly { readonly src: unknown }[];
}

/**
 * A machine's states as an indented outline — initial state marked `*`, final `(final)`,
 * invoked actors and transitions listed — so `admove opt --states` can show what a run
 * may go through.
 */
export function describeMachine(machine: AnyStateMachine): string {
  const lines: string[] = [`machine ${machine.id}`];
  const walk = (node: StateNodeLike, depth: number, initial: string | undefined) => {
    for (const [key, child] of Object.entries(node.states)) {
      const marks = [key === initial ? '*' : ' ', child.type === 'final' ? ' (final)' : ''];
      const details: string[] = [];
      for (const inv of child.invoke) details.push(`runs ${typeof inv.src === 'string' ? inv.src : 'actor'}`);
      for (const [event, ts] of Object.entries(child.on)) {
        for (const t of ts) details.push(`${event} → ${t.target?.map((n) => n.key).join(', ') ?? '(stay)'}`);
      }
      for (const t of child.always ?? [])
        details.push(`always → ${t.target?.map((n) => n.key).join(', ') ?? '(stay)'}`);
      for (const t of child.after) details.push(`after delay → ${t.target?.map((n) => n.key).join(', ')}`);
      const pad = '  '.repeat(depth);
      lines.push(`${pad}${marks[0]} ${key}${marks[1]}${details.length ? `  [${details.join('; ')}]` : ''}`);
      walk(child, depth + 1, child.initial?.target[0]?.key);
    }
  };
  const root = machine.root as unknown as StateNodeLike;
  walk(root, 1, root.initial?.target[0]?.key);
  return lines.join('\n');
}
