import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  agentsOnNode,
  NodeWatch,
  parseNodeStates,
  parseReservations,
} from '../../framework/slurm/node-watch.ts';

const NOW = Date.parse('2026-11-30T05:00:00');

describe('the Slurm node watcher', () => {
  it('reads sinfo states without their flags', () => {
    const states = parseNodeStates('n1 idle\nn2 draining\nn3 down*\nn4 mixed~\n\n');
    expect([...states]).toEqual([
      ['n1', 'idle'],
      ['n2', 'draining'],
      ['n3', 'down'],
      ['n4', 'mixed'],
    ]);
  });

  it('reads reservations: start time, nodes, flags', () => {
    const text =
      'ReservationName=maint StartTime=2026-11-30T05:10:00 EndTime=2026-11-30T06:10:00 Duration=01:00:00 Nodes=n[2-3] NodeCnt=2 CoreCnt=16 Features=(null) PartitionName=(null) Flags=MAINT,SPEC_NODES\nNo reservations in the system\n';
    expect(parseReservations(text)).toEqual([
      { name: 'maint', startMs: NOW + 600_000, nodes: ['n2', 'n3'], flags: ['MAINT', 'SPEC_NODES'] },
    ]);
  });

  it('vacates a node that drains (deadline: the reservation on it), returns it when it comes back, ends on the coordinator node', () => {
    const watch = new NodeWatch(['n1', 'n2', 'n3'], 'n1');
    const res = parseReservations(
      'ReservationName=maint StartTime=2026-11-30T05:10:00 EndTime=2026-11-30T06:10:00 Nodes=n2 Flags=MAINT',
    );
    expect(watch.update(parseNodeStates('n1 mixed\nn2 mixed\nn3 mixed'), res, NOW)).toEqual([]);
    expect(watch.update(parseNodeStates('n1 mixed\nn2 draining\nn3 down*'), res, NOW)).toEqual([
      { kind: 'vacate', node: 'n2', state: 'draining', deadlineMs: 600_000 },
      { kind: 'vacate', node: 'n3', state: 'down' },
    ]);
    // Still draining: nothing more to say.
    expect(watch.update(parseNodeStates('n1 mixed\nn2 drained\nn3 down'), res, NOW + 1000)).toEqual([]);
    expect(watch.update(parseNodeStates('n1 mixed\nn2 idle\nn3 unknown'), res, NOW + 2000)).toEqual([
      { kind: 'available', node: 'n2', state: 'idle' },
    ]);
    expect(watch.update(parseNodeStates('n1 draining\nn2 idle\nn3 idle'), res, NOW + 3000)).toEqual([
      {
        kind: 'end',
        node: 'n1',
        state: 'draining',
        reason: 'node n1, where the coordinator runs, is draining',
      },
      { kind: 'available', node: 'n3', state: 'idle' },
    ]);
  });

  it('on any sequence of states, vacate and available alternate per node, starting with vacate', () => {
    const state = fc.constantFrom(
      'idle',
      'mixed',
      'allocated',
      'draining',
      'drained',
      'down*',
      'fail',
      'unknown',
    );
    fc.assert(
      fc.property(fc.array(fc.array(state, { minLength: 3, maxLength: 3 }), { maxLength: 30 }), (polls) => {
        const nodes = ['a', 'b', 'c'];
        const watch = new NodeWatch(nodes, 'a');
        const last = new Map<string, string>();
        polls.forEach((poll, t) => {
          const text = poll.map((s, i) => `${nodes[i]} ${s}`).join('\n');
          for (const action of watch.update(parseNodeStates(text), [], NOW + t)) {
            const before = last.get(action.node);
            if (action.kind === 'end') expect(before).toBeUndefined();
            if (action.kind === 'vacate') expect(before === undefined || before === 'available').toBe(true);
            if (action.kind === 'available') expect(before).toBe('vacate');
            last.set(action.node, action.kind);
          }
        });
      }),
    );
  });

  it("sends a node's events to the agents on it", () => {
    expect(agentsOnNode('n1', ['n1', 'n1.0', 'n1.1', 'n2'])).toEqual(['n1']);
    expect(agentsOnNode('n1', ['n1.0', 'n1.1', 'n10', 'n1.0.0'])).toEqual(['n1.0', 'n1.1']);
    expect(agentsOnNode('n.x', ['n.x.0', 'nAx.1'])).toEqual(['n.x.0']);
  });
});
