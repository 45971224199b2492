/**
 * The coordinator's end of one remote worker (framework/net/remote-worker.ts): its requests
 * go out one at a time, in the order they were made (the in-order rule), and a request to a
 * worker with nothing outstanding is on the socket before the call returns (a move's
 * requests then leave before the coordinator goes on with anything else). A real socket on
 * loopback carries the frames; the far end is this test, answering as an agent would. The
 * agent's control connection is a stand-in that never fails.
 */
import { once } from 'node:events';
import { createServer, type Server, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { AgentControl } from '../../framework/net/agent-connection.ts';
import { FramedConnection } from '../../framework/net/frames.ts';
import { MessageChannel } from '../../framework/net/message-channel.ts';
import { RemoteWorker } from '../../framework/net/remote-worker.ts';

const servers: Server[] = [];
const sockets: Socket[] = [];

afterEach(() => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const s of servers.splice(0)) s.close();
});

/** A worker over a fresh loopback connection, the socket it writes to, and the far end's channel. */
async function connectedWorker(): Promise<{ worker: RemoteWorker; socket: Socket; agent: MessageChannel }> {
  const server = createServer();
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  const socket = new Socket();
  sockets.push(socket);
  socket.connect(address.port, '127.0.0.1');
  await once(socket, 'connect');
  const [far] = await accepted;
  sockets.push(far);
  // Only what a worker's requests and its connection's end use of its agent.
  const control = {
    lost: new Promise<never>(() => {}),
    release() {},
    ownStall: () => null,
  } as unknown as AgentControl;
  const worker = new RemoteWorker(0, 'h0', 0, control, new MessageChannel(new FramedConnection(socket)));
  return { worker, socket, agent: new MessageChannel(new FramedConnection(far)) };
}

const idsBody = (ids: number[]) => new Uint8Array(Int32Array.from(ids).buffer);

describe('a remote worker, from the coordinator', () => {
  it('writes a request to a worker with nothing outstanding before the call returns', async () => {
    const { worker, socket, agent } = await connectedWorker();
    const before = socket.bytesWritten;
    const ids = worker.ids();
    expect(socket.bytesWritten).toBeGreaterThan(before);
    const request = await agent.next();
    expect(request.header).toMatchObject({ type: 'call', op: 'ids' });
    await agent.send({ type: 'ok' }, [idsBody([3, 1, 2])]);
    expect(Array.from(await ids)).toEqual([3, 1, 2]);
  });

  it('sends a request only once the one before it has been answered, and answers them in order', async () => {
    const { worker, socket, agent } = await connectedWorker();
    const settled: string[] = [];
    const ids = worker.ids().then((v) => {
      settled.push('ids');
      return v;
    });
    const afterFirst = socket.bytesWritten;
    const dropped = worker.drop().then((v) => {
      settled.push('drop');
      return v;
    });
    // Queued behind the first: nothing more went to the socket.
    expect(socket.bytesWritten).toBe(afterFirst);
    const first = await agent.next();
    expect(first.header).toMatchObject({ op: 'ids' });
    expect(socket.bytesWritten).toBe(afterFirst);
    await agent.send({ type: 'ok' }, [idsBody([7])]);
    const second = await agent.next();
    expect(second.header).toMatchObject({ op: 'drop' });
    expect(settled).toEqual(['ids']);
    await agent.send({ type: 'ok' }, [idsBody([7]), Uint8Array.of(1)]);
    const { ids: droppedIds, processed } = await dropped;
    expect(Array.from(await ids)).toEqual([7]);
    expect(Array.from(droppedIds)).toEqual([7]);
    expect(Array.from(processed)).toEqual([1]);
    expect(settled).toEqual(['ids', 'drop']);
  });

  it('fails the requests queued behind one its worker failed in, with that fault, without sending them', async () => {
    const { worker, socket, agent } = await connectedWorker();
    const failing = worker.ids();
    const afterFirst = socket.bytesWritten;
    const queued = worker.ids();
    failing.catch(() => {});
    queued.catch(() => {});
    await agent.next();
    await agent.send(
      { type: 'fail', failure: { type: 'fault', failure: 'threw', detail: 'the kernel threw' } },
      [],
    );
    const fault = await failing.then(
      () => null,
      (error: Error) => error,
    );
    expect(fault?.message).toMatch(/h0.*the kernel threw/);
    await expect(queued).rejects.toBe(fault);
    expect(socket.bytesWritten).toBe(afterFirst);
    expect(worker.alive).toBe(false);
  });
});
