/**
 * Where a direct move's halves meet on the receiving agent (framework/agent/peer-rendezvous.ts):
 * the sender's connection and the coordinator's `receive` meet by ticket in either order, and
 * a cancelled ticket turns a late sender away. The connections are stand-ins that record how
 * they were closed (the real ones are exercised end to end in test/net/agent-protocol.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { PeerRendezvous } from '../../framework/agent/peer-rendezvous.ts';
import type { MessageChannel } from '../../framework/net/message-channel.ts';

function connection(log: string[], name: string): MessageChannel {
  return {
    isClosed: false,
    onClose() {},
    send: async (header: Record<string, unknown>) => {
      log.push(`${name} told ${String(header.type)}`);
    },
    destroy: (reason: string) => log.push(`${name} closed: ${reason}`),
  } as unknown as MessageChannel;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the rendezvous of a direct move', () => {
  it('meets the sender and the receiver in either order', async () => {
    const log: string[] = [];
    const r = new PeerRendezvous();
    const early = connection(log, 'early');
    void r.arrive('t1', early);
    await expect(r.await('t1')).resolves.toBe(early);
    const waiting = r.await('t2');
    const late = connection(log, 'late');
    void r.arrive('t2', late);
    await expect(waiting).resolves.toBe(late);
    expect(log).toEqual([]);
  });

  it('a ticket cancelled while the receiver waits ends the wait, and turns a late sender away', async () => {
    const log: string[] = [];
    const r = new PeerRendezvous();
    const waiting = r.await('t');
    r.cancel('t', 'the sender did not connect in time');
    await expect(waiting).rejects.toThrow('the sender did not connect in time');
    void r.arrive('t', connection(log, 'sender'));
    expect(log).toEqual(['sender closed: move t was cancelled']);
  });

  it('tells a sender kept waiting that this side is there, every quarter of the liveness limit, until taken', async () => {
    const log: string[] = [];
    const r = new PeerRendezvous(() => 80);
    void r.arrive('t', connection(log, 'sender'));
    await sleep(70);
    const beats = log.length;
    // 80 ms ÷ 4: a beat every 20 ms (timers on a busy machine may run late, never early).
    expect(beats).toBeGreaterThanOrEqual(1);
    expect(beats).toBeLessThanOrEqual(3);
    expect(new Set(log)).toEqual(new Set(['sender told receiving']));
    await r.await('t');
    await sleep(70);
    expect(log).toHaveLength(beats); // taken: the receiver's own beats take over (direct-moves.ts)
  });

  it('a ticket cancelled before anyone came turns both away', async () => {
    const log: string[] = [];
    const r = new PeerRendezvous();
    r.cancel('t', 'the sender failed');
    void r.arrive('t', connection(log, 'sender'));
    expect(log).toEqual(['sender closed: move t was cancelled']);
    const r2 = new PeerRendezvous();
    r2.cancel('u', 'the sender failed');
    await expect(r2.await('u')).rejects.toThrow('the sender failed');
  });
});
