import { afterEach, describe, expect, it } from 'vitest';
import {
  KEEP_FREED_MEMORY_ENV,
  keepFreedMemoryLine,
  keepsFreedMemory,
} from '../../framework/agent/freed-memory.ts';
import { type AgentProcess, startAgent } from '../net/agent-processes.ts';

describe('keeping freed memory (glibc malloc settings for agents)', () => {
  let agent: AgentProcess | null = null;
  afterEach(async () => {
    await agent?.kill();
    agent = null;
  });

  it('is on only when every setting is in the environment', () => {
    expect(keepsFreedMemory({})).toBe(false);
    expect(keepsFreedMemory({ MALLOC_TRIM_THRESHOLD_: '1' })).toBe(false);
    expect(keepsFreedMemory({ ...KEEP_FREED_MEMORY_ENV })).toBe(true);
    // Values glibc accepts: the mmap threshold at most 32 MB on 64-bit hosts.
    expect(Number(KEEP_FREED_MEMORY_ENV.MALLOC_MMAP_THRESHOLD_)).toBeLessThanOrEqual(32 << 20);
    expect(keepFreedMemoryLine()).toBe('MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=4294967296');
  });

  it.skipIf(process.platform !== 'linux' || keepsFreedMemory())(
    'an agent with a receive pool started without them says how to start it',
    async () => {
      agent = await startAgent(['--receive-pool']);
      for (let i = 0; i < 50 && !agent.log().includes('MALLOC_'); i++)
        await new Promise((r) => setTimeout(r, 50));
      expect(agent.log()).toContain(keepFreedMemoryLine());
    },
  );
});
