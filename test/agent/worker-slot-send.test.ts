/**
 * A sending agent's slot (framework/agent/worker-slot.ts): the receivers' connections and
 * tickets go out while the worker thread gives its rows up, and the thread frees the memory
 * of rows that left only a while after the slot's reply is out. The worker link and the
 * peers are stand-ins here (the real ones are exercised end to end in
 * test/net/agents.test.ts): what is checked is the order of the slot's own steps.
 */
import { describe, expect, it } from 'vitest';
import type { PeerAccess } from '../../framework/agent/direct-moves.ts';
import { type SlotMemory, WorkerSlot } from '../../framework/agent/worker-slot.ts';
import type { ExemplarColumns } from '../../framework/exemplars/columns.ts';
import type { Message, MessageChannel } from '../../framework/net/message-channel.ts';
import type { ExtractReply } from '../../framework/runtime/messages.ts';
import type { WorkerLink } from '../../framework/runtime/worker-link.ts';

const memory: SlotMemory = { admit: () => null, firstPass() {}, released() {}, moveBegins() {} };

/** A peer connection that records what the sender wrote and answers `committed` after `end`. */
function peerChannel(log: string[]): MessageChannel {
  let ended: (m: Message) => void = () => {};
  const confirmed = new Promise<Message>((resolve) => (ended = resolve));
  return {
    conn: { lastReadAt: 0 }, // when the receiver was last heard from
    send: async (header: Record<string, unknown>) => {
      log.push(String(header.type));
      if (header.type === 'end') ended({ header: { type: 'committed' }, bodies: [] });
    },
    next: () => confirmed,
    close: () => log.push('close'),
    destroy: (reason: string) => log.push(`destroy ${reason}`),
  } as unknown as MessageChannel;
}

function peers(open: (port: number) => Promise<MessageChannel>): PeerAccess {
  return {
    rendezvous: {} as PeerAccess['rendezvous'],
    open: (endpoint) => open(endpoint.port),
    keep() {},
    livenessMs: () => 5000,
  };
}

/** The coordinator's end of the job connection: one request, then the reply it got. */
function jobChannel(request: Record<string, unknown>, log: string[]) {
  let given = false;
  let reply: (h: Record<string, unknown>) => void = () => {};
  const replied = new Promise<Record<string, unknown>>((resolve) => (reply = resolve));
  const channel = {
    next: async (): Promise<Message> => {
      if (given) throw new Error('closed');
      given = true;
      return { header: request, bodies: [] };
    },
    send: async (header: Record<string, unknown>) => {
      log.push(`reply ${String(header.type)}`);
      reply(header);
    },
  } as unknown as MessageChannel;
  return { channel, replied };
}

const part = (port: number, count: number) => ({
  count,
  ticket: `t${port}`,
  host: '127.0.0.1',
  port,
  slot: 0,
});

describe('a sending slot', () => {
  it('fails at once when the rows never come out of the worker, and its receivers get a ticket and no rows', async () => {
    const reachable: string[] = [];
    const link = {
      extract: () =>
        new Promise<ExtractReply>((_, reject) => setTimeout(() => reject(new Error('the thread died')), 20)),
      collectFreed: async () => false,
    } as unknown as WorkerLink;
    // One receiver answers; the other's connection never does (it would end at the liveness limit).
    const slot = new WorkerSlot(
      0,
      link,
      memory,
      peers((port) => (port === 1 ? Promise.resolve(peerChannel(reachable)) : new Promise(() => {}))),
    );
    const log: string[] = [];
    const { channel, replied } = jobChannel({ op: 'send', parts: [part(1, 5), part(2, 5)] }, log);
    const started = performance.now();
    void slot.serve(channel);
    const reply = await replied;
    expect(reply.type).toBe('fail');
    expect(performance.now() - started).toBeLessThan(1000); // not the 5 s liveness limit
    await new Promise((r) => setTimeout(r, 20));
    expect(reachable).toEqual(['move', 'close']); // the ticket, then nothing: no rows, no end
  });

  it('with nothing to send on a dead worker, fails that request alone (no stray rejection)', async () => {
    const link = {
      extract: () => Promise.reject(new Error('dead')),
      collectFreed: async () => false,
    } as unknown as WorkerLink;
    const slot = new WorkerSlot(
      0,
      link,
      memory,
      peers(() => new Promise(() => {})),
    );
    const { channel, replied } = jobChannel({ op: 'send', parts: [] }, []);
    void slot.serve(channel);
    expect((await replied).type).toBe('fail');
    // An unhandled rejection would fail this test file (vitest reports it as an error).
    await new Promise((r) => setTimeout(r, 20));
  });

  it('sends the ticket before the rows are out, and frees their memory only a while after its reply', async () => {
    const log: string[] = [];
    const sent: string[] = [];
    let release: (r: ExtractReply) => void = () => {};
    const link = {
      extract: () => new Promise<ExtractReply>((resolve) => (release = resolve)),
      collectFreed: async () => {
        log.push('collect');
        return true;
      },
    } as unknown as WorkerLink;
    const slot = new WorkerSlot(
      0,
      link,
      memory,
      peers(async () => peerChannel(sent)),
    );
    const { channel, replied } = jobChannel({ op: 'send', parts: [part(1, 0)] }, log);
    void slot.serve(channel);
    await new Promise((r) => setTimeout(r, 20));
    expect(sent).toEqual(['move']); // the receiver knows what comes while the worker still works
    release({ parts: [[] as ExemplarColumns[]], held: 3 });
    const reply = await replied;
    expect(reply).toMatchObject({ type: 'ok', held: 3, parts: [{ delivered: true }] });
    expect(sent).toEqual(['move', 'end']);
    // Not at once: the job resumes first (worker-slot.ts COLLECT_DELAY_MS, 100 ms).
    await new Promise((r) => setTimeout(r, 50));
    expect(log).toEqual(['reply ok']);
    await new Promise((r) => setTimeout(r, 100));
    expect(log).toEqual(['reply ok', 'collect']);
  });
});
