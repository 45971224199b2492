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
import { exemplarBodies } from '../../framework/net/payloads.ts';
import type { ExtractReply } from '../../framework/runtime/messages.ts';
import type { WorkerLink } from '../../framework/runtime/worker-link.ts';
import { randomColumns } from '../runtime/helpers.ts';

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
    // Rows the mirror does not know of (none came in through this slot): the thread gives them up.
    const { channel, replied } = jobChannel({ op: 'send', parts: [part(1, 3)] }, log);
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

  describe('a vacate (all of the rows, which came in through the slot in shared memory)', () => {
    const ROWS = 30;
    const DIM = 3;

    /** The rows as one IPC body in shared memory at offset 0, as an agent receives an insert. */
    async function sharedInsert(): Promise<Message> {
      const [pieces] = await exemplarBodies([randomColumns(ROWS, DIM, 4)]);
      const body = new Uint8Array(new SharedArrayBuffer(pieces.reduce((n, p) => n + p.byteLength, 0)));
      let at = 0;
      for (const p of pieces) {
        body.set(p, at);
        at += p.byteLength;
      }
      return { header: { op: 'insert', dim: DIM, rows: ROWS }, bodies: [body] };
    }

    /** Serves `requests` in turn; resolves with the reply to the last one. */
    function jobChannelOf(requests: Message[], log: string[]) {
      let reply: (h: Record<string, unknown>) => void = () => {};
      const replied = new Promise<Record<string, unknown>>((resolve) => (reply = resolve));
      const expected = requests.length;
      let replies = 0;
      const channel = {
        next: async (): Promise<Message> => {
          const m = requests.shift();
          if (m === undefined) throw new Error('closed');
          return m;
        },
        send: async (header: Record<string, unknown>) => {
          log.push(`reply ${String(header.type)}`);
          if (++replies === expected) reply(header);
        },
      } as unknown as MessageChannel;
      return { channel, replied };
    }

    /** A receiver that confirms once the last rows message came, and counts the rows it got. */
    function receiverChannel(log: string[], got: { rows: number }): MessageChannel {
      let ended: (m: Message) => void = () => {};
      const confirmed = new Promise<Message>((resolve) => (ended = resolve));
      return {
        conn: { lastReadAt: 0 },
        send: async (header: Record<string, unknown>, bodies: readonly Uint8Array[][] = []) => {
          log.push(header.end === true || header.type === 'end' ? 'rows, the last' : String(header.type));
          got.rows += bodies.length > 0 ? ROWS : 0; // one batch of all the rows here
          if (header.end === true || header.type === 'end')
            ended({ header: { type: 'committed' }, bodies: [] });
        },
        next: () => confirmed,
        close: () => log.push('close'),
        destroy: (reason: string) => log.push(`destroy ${reason}`),
      } as unknown as MessageChannel;
    }

    /** A stand-in thread that counts its rows (it gives up none of them for real: empty parts). */
    function threadLink(log: string[], failGivingUp: boolean): WorkerLink {
      let held = 0;
      return {
        insert: async (fragments: readonly ExemplarColumns[]) => {
          log.push('thread took the rows');
          held += fragments.reduce((n, f) => n + f.count, 0);
          return held;
        },
        extract: async (counts: readonly number[]) => {
          log.push(`thread gives up ${counts.join('+')}`);
          if (failGivingUp) throw new Error('the thread died');
          held -= counts.reduce((a, n) => a + n, 0);
          return { parts: counts.map(() => []), held };
        },
        drop: async () => {
          log.push('thread dropped its rows');
          held = 0;
          return { ids: new Int32Array(0), processed: new Uint8Array(0) };
        },
        collectFreed: async () => true,
      } as unknown as WorkerLink;
    }

    /** A slot given the rows in shared memory, then asked to send all of them. */
    async function vacate(failGivingUp: boolean) {
      const log: string[] = [];
      const got = { rows: 0 };
      const slot = new WorkerSlot(
        0,
        threadLink(log, failGivingUp),
        memory,
        peers(async () => receiverChannel(log, got)),
      );
      const { channel, replied } = jobChannelOf(
        [await sharedInsert(), { header: { op: 'send', parts: [part(1, ROWS)] }, bodies: [] }],
        log,
      );
      void slot.serve(channel);
      return { log, got, reply: await replied };
    }

    it('streams them without asking the thread, which gives them up once they are confirmed', async () => {
      const { log, got, reply } = await vacate(false);
      expect(reply).toMatchObject({ type: 'ok', held: 0, parts: [{ delivered: true }] });
      expect(got.rows).toBe(ROWS);
      expect(log).toEqual([
        'thread took the rows',
        'reply ok',
        'move',
        'rows, the last',
        `thread gives up ${ROWS}`,
        'reply ok',
      ]);
    });

    it('goes through the thread once the thread cut its batches itself (an extract), and from the mirror again after a drop', async () => {
      const log: string[] = [];
      const got = { rows: 0 };
      const link = threadLink(log, false);
      const slot = new WorkerSlot(
        0,
        link,
        memory,
        peers(async () => receiverChannel(log, got)),
      );
      const send: Message = { header: { op: 'send', parts: [part(1, ROWS)] }, bodies: [] };
      const requests = [
        await sharedInsert(),
        { header: { op: 'extract', counts: [0] }, bodies: [] },
        // Part of the rows (a rebalance): the thread cuts them, and keeps 10.
        { header: { op: 'send', parts: [part(1, ROWS - 10)] }, bodies: [] },
        { header: { op: 'drop' }, bodies: [] },
        await sharedInsert(),
        { ...send },
      ];
      const { channel, replied } = jobChannelOf(requests, log);
      void slot.serve(channel);
      await replied;
      const sends = log.join(' | ').split('thread dropped its rows');
      // Before the drop the thread is asked first (its own cuts made the mirror unsure)...
      expect(sends[0]).toMatch(/thread gives up 20 \| .*move \| rows, the last/);
      // ...after it, the rows stream first and the thread gives them up afterwards.
      expect(sends[1]).toMatch(/move \| rows, the last \| thread gives up 30/);
    });

    it('a thread that fails giving them up fails the request, after the rows reached their receiver', async () => {
      const { log, got, reply } = await vacate(true);
      expect(reply.type).toBe('fail');
      expect(got.rows).toBe(ROWS);
      expect(log.slice(-3)).toEqual(['rows, the last', `thread gives up ${ROWS}`, 'reply fail']);
    });
  });
});
