/**
 * What a big agent-to-agent move costs in memory and in coordinator traffic (issue 10's
 * "400 MB move" line). Two agent processes, each holding half of a training set; the first
 * is vacated, so its half moves straight to the second. Measured: the bytes the coordinator
 * received during the move, and each agent's peak resident memory during the move (VmHWM,
 * reset just before it through /proc/PID/clear_refs) above its resident memory before the
 * move and the exemplar bytes it gained.
 *
 *   npx tsx bench/agent-memory.ts [--mb 400] [--quick]
 *
 * Prints its result as JSON; a full run (not --quick) also writes it to
 * bench/results/agent-memory.json.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { createOptKernel } from '../apps/opt/model/kernel.ts';
import { initWeights, type NetworkShape } from '../apps/opt/model/network.ts';
import { agentTransport, discoverAgents, parseEndpoint, SeededRandom, startJob } from '../framework/index.ts';
import { bytesPerExemplar } from './lib/opt-job.ts';

const CLI = fileURLToPath(new URL('../apps/cli/admove.mjs', import.meta.url));
const KERNEL = new URL('../apps/opt/model/kernel.ts', import.meta.url).href;
const RESULT = fileURLToPath(new URL('./results/agent-memory.json', import.meta.url));

function startAgent(name: string): Promise<{ child: ChildProcess; address: string }> {
  const child = spawn(process.execPath, [CLI, 'agent', '--listen', '127.0.0.1:0', '--name', name], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.on('exit', (code) => reject(new Error(`agent ${name} exited with ${code}`)));
    child.stdout?.on('data', (d) => {
      out += d;
      const m = /listening on (127\.0\.0\.1:\d+)/.exec(out);
      if (m) resolve({ child, address: m[1] });
    });
  });
}

function statusKb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : Number.NaN;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const mbAt = args.indexOf('--mb');
  const mb = mbAt >= 0 ? Number(args[mbAt + 1]) : quick ? 8 : 400;
  const dim = 784;
  const rowBytes = bytesPerExemplar(dim);
  const perAgent = Math.round((mb * 1e6) / rowBytes);
  const count = 2 * perAgent;
  const features = new Float32Array(count * dim);
  for (let i = 0; i < features.length; i += 97) features[i] = (i % 13) / 13;
  const labels = Int32Array.from({ length: count }, (_, i) => i % 10);
  const ids = Int32Array.from({ length: count }, (_, i) => i);
  const train = { count, dim, ids, labels, features, processed: new Uint8Array(count) };
  const shape: NetworkShape = { inputs: dim, hidden: 1, outputs: 10, loss: 'xent' };
  const weights = initWeights(shape, new SeededRandom(1));
  createOptKernel(shape);

  const agents = [await startAgent('a0'), await startAgent('a1')];
  const idle = agents.map((a) => statusKb(a.child.pid as number, 'VmRSS'));
  try {
    const hosts = await discoverAgents(
      agents.map((a) => ({ endpoint: parseEndpoint(a.address, 'agent') })),
      {},
    );
    const transport = agentTransport(hosts, {});
    const t0 = performance.now();
    const job = await startJob('adm', {
      kernelModule: KERNEL,
      kernelConfig: shape,
      train,
      hosts: hosts.map((h) => ({ name: h.name, speed: 1 })),
      emulateSpeeds: false,
      soloRate: 1e6,
      rebalance: false,
      calibrationParams: weights,
      clock: () => performance.now() - t0,
      transport,
      livenessMs: 30_000,
    });
    try {
      await job.pass(weights);
      const pids = agents.map((a) => a.child.pid as number);
      const before = pids.map((p) => statusKb(p, 'VmRSS'));
      for (const p of pids) writeFileSync(`/proc/${p}/clear_refs`, '5');
      const heldBefore = [...job.counts()];
      const receivedBefore = transport.bytesReceived();
      job.send({ type: 'vacate', host: 'a0' });
      await job.pass(weights);
      const received = transport.bytesReceived() - receivedBefore;
      const peak = pids.map((p) => statusKb(p, 'VmHWM'));
      const after = [...job.counts()];
      const record = job.redistributions().find((r) => r.reason === 'evacuate');
      const gainedBytes = after.map((n, i) => Math.max(0, n - heldBefore[i]) * rowBytes);
      const finalBytes = after.map((n) => n * rowBytes);
      const result = {
        movedMB: (record?.bytesMoved ?? 0) / 1e6,
        migrationMs: record?.migrationMs ?? null,
        // Received during the move and the pass after it (the pass's accumulators included).
        coordinatorReceivedBytes: received,
        agents: agents.map((_, i) => ({
          host: hosts[i].name,
          rssIdleMB: idle[i] / 1000,
          rssBeforeMB: before[i] / 1000,
          peakDuringMoveMB: peak[i] / 1000,
          gainedDataMB: gainedBytes[i] / 1e6,
          finalDataMB: finalBytes[i] / 1e6,
          // Peak during the move above the agent's RSS before it and the exemplars it gained.
          overheadMB: (peak[i] * 1000 - before[i] * 1000 - gainedBytes[i]) / 1e6,
          // Peak during the move above the idle agent and the exemplars it ends up holding:
          // an upper bound that also counts what the initial load left behind.
          overheadVsIdleMB: (peak[i] * 1000 - idle[i] * 1000 - finalBytes[i]) / 1e6,
        })),
      };
      console.log(JSON.stringify(result, null, 2));
      // A full run is kept beside the other benchmarks' results (a --quick one, the tests', is not).
      if (!quick) {
        const kept = {
          ...result,
          command: `npx tsx bench/agent-memory.ts --mb ${mb}`,
          measuredAt: new Date().toISOString(),
          machine: `${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.versions.node}, load average ${loadavg()[0].toFixed(2)}`,
        };
        writeFileSync(RESULT, `${JSON.stringify(kept, null, 2)}\n`);
      }
    } finally {
      await job.close();
      transport.close();
    }
  } finally {
    for (const a of agents) a.child.kill('SIGKILL');
  }
}

await main();
