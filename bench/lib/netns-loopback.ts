/**
 * A preload (`node --import tsx --import ./bench/lib/netns-loopback.ts …`) that lets the
 * `tcp` benchmark's loopback helpers run unchanged inside a network namespace of
 * `paper-network`: wherever they listen on or connect to 127.0.0.1, this process uses the
 * address in `ADMOVE_NETNS_LOOPBACK_AS` instead. So `tcp-sink.ts` run in agent a1's namespace
 * listens on a1's shaped address, and `openRawTcp`/`openRawTls` run in a0's namespace send
 * to it there: the raw baselines are the `tcp` benchmark's own code, over the shaped link.
 *
 * Only listen and connect calls on 127.0.0.1 are touched, and only in the processes started
 * with this preload (the raw sink and sender; never an agent or the coordinator).
 */
import net from 'node:net';

const target = process.env.ADMOVE_NETNS_LOOPBACK_AS;

if (target) {
  const swap = (host: unknown) => (host === '127.0.0.1' ? target : host);

  const listen = net.Server.prototype.listen;
  // biome-ignore lint/suspicious/noExplicitAny: listen's overloads, passed through unchanged
  net.Server.prototype.listen = function (this: net.Server, ...args: any[]) {
    const first = args[0];
    if (first !== null && typeof first === 'object' && !Array.isArray(first))
      args[0] = { ...first, host: swap(first.host) };
    else if (typeof args[1] === 'string') args[1] = swap(args[1]);
    return listen.apply(this, args as Parameters<typeof listen>);
  } as typeof listen;

  const connect = net.Socket.prototype.connect;
  // biome-ignore lint/suspicious/noExplicitAny: connect's overloads (and Node's normalised [options, cb] array)
  net.Socket.prototype.connect = function (this: net.Socket, ...args: any[]) {
    const first = args[0];
    const options = Array.isArray(first) ? first[0] : first;
    if (options !== null && typeof options === 'object') options.host = swap(options.host);
    else if (typeof first === 'number' && typeof args[1] === 'string') args[1] = swap(args[1]);
    return connect.apply(this, args as Parameters<typeof connect>);
  } as typeof connect;
}
