/** The name an agent goes by when not given `--name` (framework/agent/agent.ts). */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { Agent } from '../../framework/agent/agent.ts';

describe('an agent without --name', () => {
  it('is HOST:PORT as it listens', async () => {
    const agent = await Agent.start({ host: '127.0.0.1', port: 0, log: () => {} });
    try {
      expect(agent.name).toBe(`127.0.0.1:${agent.address.port}`);
    } finally {
      await agent.close();
    }
  });

  it("on every interface (0.0.0.0), is this machine's name and the port: agents on several machines differ", async () => {
    const agent = await Agent.start({ host: '0.0.0.0', port: 0, secret: randomBytes(32), log: () => {} });
    try {
      expect(agent.name).toBe(`${hostname()}:${agent.address.port}`);
      expect(agent.name).not.toMatch(/^0\.0\.0\.0:/);
    } finally {
      await agent.close();
    }
  });
});
