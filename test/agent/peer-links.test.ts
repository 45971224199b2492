import { describe, expect, it } from 'vitest';
import { PeerLinks } from '../../framework/agent/peer-links.ts';
import type { MessageChannel } from '../../framework/net/message-channel.ts';

/** A stand-in for a peer connection: only what PeerLinks looks at. */
function fakeChannel() {
  const handlers: (() => void)[] = [];
  const c = {
    isClosed: false,
    closes: 0,
    onClose(h: () => void) {
      handlers.push(h);
    },
    close() {
      c.closes++;
    },
    /** The peer closed it. */
    drop() {
      c.isClosed = true;
      for (const h of handlers) h();
    },
  };
  return c;
}

const A = { host: '127.0.0.1', port: 7001 };
const B = { host: '127.0.0.1', port: 7002 };

function links() {
  const made: ReturnType<typeof fakeChannel>[] = [];
  const dials: string[] = [];
  const l = new PeerLinks(async (e) => {
    dials.push(`${e.host}:${e.port}`);
    const c = fakeChannel();
    made.push(c);
    return c as unknown as MessageChannel;
  });
  return { l, made, dials };
}

describe('PeerLinks', () => {
  it('dials each peer once in advance, and a move takes that connection', async () => {
    const { l, dials } = links();
    l.warm([A, B]);
    const c = await l.open(A);
    expect(dials).toEqual(['127.0.0.1:7001', '127.0.0.1:7002']);
    l.keep(A, c);
    expect(await l.open(A)).toBe(c);
    expect(l.stats()).toEqual({ dialled: 2, reused: 2 });
  });

  it('a second move to the same agent while the first runs dials another; both are kept', async () => {
    const { l, dials } = links();
    const first = await l.open(A);
    const second = await l.open(A);
    expect(second).not.toBe(first);
    l.keep(A, first);
    l.keep(A, second);
    const again = [await l.open(A), await l.open(A)];
    expect(new Set(again)).toEqual(new Set([first, second]));
    expect(dials).toHaveLength(2);
  });

  it('a kept connection its peer closes is not handed out again', async () => {
    const { l, made } = links();
    const c = await l.open(B);
    l.keep(B, c);
    made[0].drop();
    const next = await l.open(B);
    expect(next).not.toBe(c);
    expect(l.stats().dialled).toBe(2);
  });

  it('close ends the kept connections, and any kept afterwards', async () => {
    const { l, made } = links();
    const a = await l.open(A);
    const b = await l.open(B);
    l.keep(A, a);
    l.close();
    expect(made[0].closes).toBe(1);
    l.keep(B, b);
    expect(made[1].closes).toBe(1);
  });

  it('a failed dial in advance is left to the move, which dials again', async () => {
    let n = 0;
    const l = new PeerLinks(async () => {
      n++;
      if (n === 1) throw new Error('refused');
      return fakeChannel() as unknown as MessageChannel;
    });
    l.warm([A]);
    await expect(l.open(A)).resolves.toBeDefined();
    expect(n).toBe(2);
  });
});
