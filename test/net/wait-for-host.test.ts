/**
 * Every host vacated, so the job waits for one (its rows stay where they are), and then an
 * agent holding rows goes away. Found by a hostile test: with no request in flight nothing
 * noticed, the report had no fault, and the run later failed "no host available" with the
 * dead agent still counted as holding its rows. Now the loss is found when it happens (and
 * recorded once its rows are placed, or unrecovered if no host comes back), its rows wait for
 * a host with the others, and a host given back takes them all.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Agent } from '../../framework/agent/agent.ts';
import { checkIdsExactlyOnce, expectSameSums } from '../runtime/helpers.ts';
import { jobOnAgents, startAgentsHere } from './in-process-agents.ts';

const N = 6000;
let agents: Agent[] = [];
beforeAll(async () => {
  agents = await startAgentsHere(['w0', 'w1']);
});
afterAll(() => Promise.all(agents.map((a) => a.close())));

it('an agent holding rows lost while every host is vacated: found at once, its rows reloaded once a host is back', async () => {
  const { job, reference, close } = await jobOnAgents(agents, {
    rows: N,
    seed: 22,
    options: { livenessMs: 1000 },
  });
  try {
    expectSameSums(await job.pass(new Float64Array(1)), reference);
    job.sendTogether([
      { type: 'vacate', host: 'w0' },
      { type: 'vacate', host: 'w1' },
    ]);
    const pass = job.pass(new Float64Array(1)); // waits for a host
    await new Promise((r) => setTimeout(r, 200));
    await agents[1].close(); // the machine holding w1's rows goes away
    await new Promise((r) => setTimeout(r, 300));
    const back = job.send({ type: 'available', host: 'w0' });
    expectSameSums(await pass, reference);
    // Found when it happened, not when the host came back and a move from it failed.
    expect(job.faults()).toHaveLength(1);
    expect(job.faults()[0]).toMatchObject({ host: 'w1', during: 'idle', exemplarsReloaded: N / 2 });
    expect(job.faults()[0].detectedAt).toBeLessThan(back.receivedAt);
    expect([...job.counts()]).toEqual([N, 0]);
    expect(checkIdsExactlyOnce(await job.heldIds(), N)).toBeNull();
  } finally {
    await close();
  }
});

it('an agent holding rows lost between passes, then every host vacated: the waiting pass finds it, and it is recorded when the wait ends', async () => {
  // Found by review: the loss, heard of between passes, was dropped there; the pass then
  // waited for a host with nothing noticing, and gave up with no fault in the report.
  const more = await startAgentsHere(['v0', 'v1']);
  const { job, reference, close } = await jobOnAgents(more, {
    rows: N,
    seed: 23,
    options: { livenessMs: 1000, waitTimeoutMs: 1500 },
  });
  try {
    expectSameSums(await job.pass(new Float64Array(1)), reference);
    job.sendTogether([
      { type: 'vacate', host: 'v0' },
      { type: 'vacate', host: 'v1' },
    ]);
    await new Promise((r) => setTimeout(r, 300)); // between passes
    await more[1].close();
    await new Promise((r) => setTimeout(r, 500));
    await expect(job.pass(new Float64Array(1))).rejects.toThrow(
      /^no host available: the 3000 exemplars v1 held have nowhere to go/,
    );
    expect(job.faults().map((f) => `${f.host} ${f.during} ${f.unrecovered === true}`)).toEqual([
      'v1 idle true',
    ]);
  } finally {
    await close();
    await Promise.all(more.map((a) => a.close()));
  }
}, 30_000);
