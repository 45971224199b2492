/**
 * A direct move from the coordinator's side (framework/net/direct-move.ts): the job goes on
 * once every receiver has taken its rows, without waiting for the sender's reply, and the
 * sender is then told to drop any part whose confirmation it missed; a part a receiver did
 * not take stays with the sender. The remote workers are stand-ins recording their calls
 * (the real exchange is exercised end to end in test/net/agent-protocol.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { moveDirect } from '../../framework/net/direct-move.ts';
import type { ReceiveReply, RemoteWorker } from '../../framework/net/remote-worker.ts';

type SendReply = { held: number; bytes: number; delivered: boolean[] };

function sender(reply: Promise<SendReply>, calls: string[]): RemoteWorker {
  return {
    features: 4,
    sendDirect: (parts: { count: number }[]) => {
      calls.push(`send ${parts.map((p) => p.count).join('+')}`);
      return reply;
    },
    settleDirect: async (_ticket: string, keep: boolean) => {
      calls.push(`settle keep=${keep}`);
      return keep ? 7 : 0;
    },
  } as unknown as RemoteWorker;
}

function receiver(reply: ReceiveReply, calls: string[]): RemoteWorker {
  return {
    endpoint: { host: '127.0.0.1', port: 1 },
    slot: 0,
    receiveDirect: async () => reply,
    cancelReceive: (_ticket: string, reason: string) => calls.push(`cancel ${reason}`),
  } as unknown as RemoteWorker;
}

describe('a direct move, from the coordinator', () => {
  it('is over once every receiver took its rows; the sender then drops a part it missed the confirmation of', async () => {
    const calls: string[] = [];
    let answer: (r: SendReply) => void = () => {};
    const reply = new Promise<SendReply>((resolve) => (answer = resolve));
    const result = await moveDirect(sender(reply, calls), [
      { count: 5, to: receiver({ held: 5, received: 5, bytes: 500 }, calls) },
      { count: 2, to: receiver({ held: 9, received: 2, bytes: 200 }, calls) },
    ]);
    // Resolved while the sender has not answered: its count is the plan's (-1: it did not say).
    const { senderReply, ...counts } = result;
    expect(counts).toEqual({ held: -1, receivers: [5, 9], undelivered: [0, 0], bytes: 700 });
    expect(calls).toEqual(['send 5+2']);
    answer({ held: 0, bytes: 700, delivered: [true, false] });
    await senderReply;
    expect(calls).toEqual(['send 5+2', 'cancel the sender could not deliver it', 'settle keep=false']);
  });

  it('is over once every receiver took its rows; a sender failing after that is told in its reply', async () => {
    const calls: string[] = [];
    let fail: (e: Error) => void = () => {};
    const reply = new Promise<SendReply>((_, reject) => (fail = reject));
    const result = await moveDirect(sender(reply, calls), [
      { count: 5, to: receiver({ held: 5, received: 5, bytes: 500 }, calls) },
    ]);
    expect(result.receivers).toEqual([5]);
    fail(new Error('worker h0 threw during send: the thread died'));
    await expect(result.senderReply).rejects.toThrow('the thread died');
    // The rows are with the receiver: nothing to settle (the cancel finds that ticket done).
    expect(calls).toEqual(['send 5', 'cancel the sender failed']);
  });

  it('asks the receivers before the sender (streaming at once, it would keep their requests waiting)', async () => {
    const asked: string[] = [];
    const to = (port: number) =>
      ({
        endpoint: { host: '127.0.0.1', port },
        slot: 0,
        receiveDirect: async () => {
          asked.push(`receive ${port}`);
          return { held: 5, received: 5, bytes: 500 };
        },
        cancelReceive: () => {},
      }) as unknown as RemoteWorker;
    const from = {
      features: 4,
      sendDirect: async () => {
        asked.push('send');
        return { held: 0, bytes: 1000, delivered: [true, true] };
      },
    } as unknown as RemoteWorker;
    await moveDirect(from, [
      { count: 5, to: to(1) },
      { count: 5, to: to(2) },
    ]);
    expect(asked).toEqual(['receive 1', 'receive 2', 'send']);
  });

  it('waits for the sender when a receiver did not take its part, which the sender keeps', async () => {
    const calls: string[] = [];
    let answer: (r: SendReply) => void = () => {};
    const reply = new Promise<SendReply>((resolve) => (answer = resolve));
    const moving = moveDirect(sender(reply, calls), [
      { count: 5, to: receiver({ held: 5, received: 5, bytes: 500 }, calls) },
      { count: 2, to: receiver({ held: 0, received: 0, bytes: 0 }, calls) },
    ]);
    let over = false;
    void moving.then(() => {
      over = true;
    });
    await new Promise((r) => setTimeout(r, 10));
    expect(over).toBe(false);
    answer({ held: 0, bytes: 500, delivered: [true, false] });
    expect(await moving).toEqual({ held: 7, receivers: [5, 0], undelivered: [0, 2], bytes: 500 });
    expect(calls).toEqual([
      'send 5+2',
      'cancel the receiver did not take it',
      'cancel the sender could not deliver it',
      'settle keep=true',
    ]);
  });

  it('turns the sender away from a receiver that failed at once, without waiting for the sender', async () => {
    const calls: string[] = [];
    const failed = {
      endpoint: { host: '127.0.0.1', port: 2 },
      slot: 0,
      receiveDirect: async () => {
        throw new Error('worker h1 threw during receive');
      },
      cancelReceive: (_ticket: string, reason: string) => calls.push(`cancel ${reason}`),
    } as unknown as RemoteWorker;
    let answer: (r: SendReply) => void = () => {};
    const reply = new Promise<SendReply>((resolve) => (answer = resolve));
    const moving = moveDirect(sender(reply, calls), [{ count: 5, to: failed }]);
    moving.catch(() => {});
    await new Promise((r) => setTimeout(r, 10));
    // The sender has not answered: its connection is what the cancel ends on the receiving agent.
    expect(calls).toEqual(['send 5', 'cancel the receiver did not take it']);
    answer({ held: 0, bytes: 0, delivered: [false] });
    await expect(moving).rejects.toThrow('worker h1 threw during receive');
    expect(calls).toEqual([
      'send 5',
      'cancel the receiver did not take it',
      'cancel the sender could not deliver it',
      'settle keep=true',
    ]);
  });
});
