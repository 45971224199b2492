/**
 * A receiving agent's slot (framework/agent/worker-slot.ts): once a direct move's rows are all
 * in its memory it answers the coordinator, then confirms them to the sender while its worker
 * thread takes them; the next request waits until the thread has them, and fails if the thread could not
 * take them. The worker link and the peers are stand-ins here (the real ones, a receiver's
 * thread failing in the middle of a move included, are exercised end to end in
 * test/net/agent-protocol.test.ts); the rows are real Arrow IPC bytes.
 */
import { describe, expect, it } from 'vitest';
import type { PeerAccess } from '../../framework/agent/direct-moves.ts';
import { type SlotMemory, WorkerSlot } from '../../framework/agent/worker-slot.ts';
import type { ExemplarColumns } from '../../framework/exemplars/columns.ts';
import { byteSize } from '../../framework/exemplars/rows.ts';
import type { Message, MessageChannel } from '../../framework/net/message-channel.ts';
import { exemplarBodies } from '../../framework/net/payloads.ts';
import type { WorkerLink } from '../../framework/runtime/worker-link.ts';
import { randomColumns } from '../runtime/helpers.ts';

const memory: SlotMemory = { admit: () => null, firstPass() {}, released() {}, moveBegins() {} };
const ROWS = 40;
const DIM = 3;

/** The sender's end of a peer connection: the rows as one IPC stream, then `end`; records what the receiver says. */
async function senderChannel(rows: ExemplarColumns, said: string[]): Promise<MessageChannel> {
  const [pieces] = await exemplarBodies([rows]);
  const body = new Uint8Array(pieces.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of pieces) {
    body.set(p, at);
    at += p.byteLength;
  }
  const messages: Message[] = [
    { header: { type: 'rows' }, bodies: [body] },
    { header: { type: 'end' }, bodies: [] },
  ];
  return {
    conn: { lastReadAt: 0 }, // when bytes last came (the receiver's beats to the sender)
    next: async () => messages.shift() ?? new Promise<Message>(() => {}),
    send: async (header: Record<string, unknown>) => {
      said.push(String(header.type));
    },
    destroy: (reason: string) => said.push(`destroy ${reason}`),
  } as unknown as MessageChannel;
}

function peersWith(channel: MessageChannel): PeerAccess {
  return {
    rendezvous: { await: async () => channel, done() {}, cancel() {} } as unknown as PeerAccess['rendezvous'],
    open: () => Promise.reject(new Error('a receiver dials no one')),
    keep() {},
    livenessMs: () => 5000,
  };
}

/** The coordinator's end of the job connection: `requests` one after the other, and every reply. */
function jobChannel(requests: Record<string, unknown>[], log: string[]) {
  const replies: Record<string, unknown>[] = [];
  const waiting: ((h: Record<string, unknown>) => void)[] = [];
  const channel = {
    next: async (): Promise<Message> => {
      const header = requests.shift();
      if (header === undefined) throw new Error('closed');
      return { header, bodies: [] };
    },
    send: async (header: Record<string, unknown>) => {
      log.push(`reply ${String(header.type)}`);
      const w = waiting.shift();
      if (w) w(header);
      else replies.push(header);
    },
  } as unknown as MessageChannel;
  const reply = () =>
    new Promise<Record<string, unknown>>((resolve) => {
      const r = replies.shift();
      if (r) resolve(r);
      else waiting.push(resolve);
    });
  return { channel, reply };
}

const receive = { op: 'receive', ticket: 't', rows: ROWS, dim: DIM };

describe('a receiving slot', () => {
  it('answers first, then confirms to the sender and hands the rows to its thread; the next request waits for the thread', async () => {
    const log: string[] = [];
    let inserted: (held: number) => void = () => {};
    const link = {
      insert: (fragments: readonly ExemplarColumns[]) => {
        log.push(`insert ${fragments.reduce((n, f) => n + f.count, 0)}`);
        return new Promise<number>((resolve) => (inserted = resolve));
      },
      ids: async () => {
        log.push('ids');
        return new Int32Array(0);
      },
    } as unknown as WorkerLink;
    const rows = randomColumns(ROWS, DIM);
    // The sender's side writes into the same log: the order of answer, confirmation and insert shows.
    const slot = new WorkerSlot(0, link, memory, peersWith(await senderChannel(rows, log)));
    const job = jobChannel([receive, { op: 'ids' }], log);
    void slot.serve(job.channel);
    // Exemplar bytes, as the sender counts them (not the IPC stream's length).
    expect(await job.reply()).toMatchObject({
      type: 'ok',
      held: ROWS,
      received: ROWS,
      bytes: byteSize(rows),
    });
    await new Promise((r) => setTimeout(r, 20));
    // Only once the answer was written: the sender heard, and the rows went to the thread,
    // which has not taken them yet: `ids` waits.
    expect(log).toEqual(['reply ok', 'committed', `insert ${ROWS}`]);
    inserted(ROWS);
    const next = await job.reply();
    expect(next.type).toBe('ok');
    // It says how long it waited for the rows: the coordinator adds that to the move's time.
    expect(next.waitedForRowsMs).toBeGreaterThanOrEqual(15);
    expect(log).toEqual(['reply ok', 'committed', `insert ${ROWS}`, 'ids', 'reply ok']);
  });

  it('fails the next request with the reason its thread could not take the rows', async () => {
    const log: string[] = [];
    const link = {
      insert: () => Promise.reject(new Error('the thread refused the rows')),
      ids: async () => {
        log.push('ids');
        return new Int32Array(0);
      },
    } as unknown as WorkerLink;
    const slot = new WorkerSlot(
      0,
      link,
      memory,
      peersWith(await senderChannel(randomColumns(ROWS, DIM), [])),
    );
    const job = jobChannel([receive, { op: 'ids' }], log);
    void slot.serve(job.channel);
    expect((await job.reply()).type).toBe('ok');
    const next = await job.reply();
    expect(next).toMatchObject({
      type: 'fail',
      failure: { type: 'refused', message: 'the thread refused the rows' },
    });
    expect(log).not.toContain('ids');
  });
});
