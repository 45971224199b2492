/**
 * The sending end of `paper-network`'s raw baselines, run in agent a0's namespace with the
 * loopback preload pointing at a1's address (netns-loopback.ts):
 *
 *   ip netns exec NS env ADMOVE_NETNS_LOOPBACK_AS=A1 \
 *     node --import tsx --import ./bench/lib/netns-loopback.ts bench/lib/netns-sender.ts tcp|tls PORT [SECRET_FILE]
 *
 * It opens one connection to the sink with the `tcp` benchmark's own `openRawTcp` /
 * `openRawTls` (tcp-processes.ts; connecting is not timed), prints `ready`, then for every
 * line `BYTES` on stdin sends that many bytes (`payload`, made before the clock starts) and
 * prints `sent BYTES MS`. It exits when stdin closes or on SIGTERM.
 */
import { createInterface } from 'node:readline';
import { readSecretFile } from '../../framework/net/secure-socket.ts';
import { openRawTcp, openRawTls, payload, type RawChannel } from './tcp-processes.ts';

async function main(): Promise<void> {
  const [mode, portText, secretFile] = process.argv.slice(2);
  const port = Number(portText);
  let raw: RawChannel;
  if (mode === 'tcp') raw = await openRawTcp(port);
  else if (mode === 'tls' && secretFile !== undefined)
    raw = await openRawTls(port, await readSecretFile(secretFile));
  else {
    process.stderr.write('usage: netns-sender.ts tcp PORT | tls PORT SECRET_FILE\n');
    process.exitCode = 2;
    return;
  }
  process.once('SIGTERM', () => {
    raw.close();
    process.exit(0);
  });
  process.stdout.write('ready\n');
  let data: Buffer = Buffer.alloc(0);
  for await (const line of createInterface({ input: process.stdin })) {
    const bytes = Number(line.trim());
    if (!(Number.isInteger(bytes) && bytes > 0)) continue;
    if (data.byteLength !== bytes) data = payload(bytes);
    const ms = await raw.send(data);
    process.stdout.write(`sent ${bytes} ${ms}\n`);
  }
  raw.close();
}

await main();
