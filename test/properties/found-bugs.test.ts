/**
 * Coordinator bugs the properties found (see README.md, "Bugs found"): each is the strict
 * property on the smallest sequence found. Each failed (as `it.fails`) until its fix in
 * `framework/runtime/adm-job.ts`, `move-data.ts`, `deadline-drain.ts` or `pass-machine.ts`;
 * now they are regression tests. The `between-passes-…` two were found in the hand-off
 * between passes before it landed (README.md). Replay one with a trace: `tsx test/properties/replay.ts '<its JSON>'`.
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import { runScenario, warmUp, watchRejections } from './driver.ts';
import type { Scenario } from './scenario.ts';

// biome-ignore format: one sequence per line
const SEQUENCES: Record<string, Scenario> = {
  "recover-ignores-pending-events (vacate)": {"livenessMs": 5, "emulate": false, "soloRate": 8000, "minIntervalMs": 0, "waitTimeoutMs": 5, "rebalance": true, "copyBytesPerMs": 100000, "maxPasses": 2, "seed": 0, "returning": 0, "returnAfterGiveUp": false, "hosts": 5, "declared": [1, 1, 1, 1, 1], "rates": [1, 1, 1, 1, 1], "total": 11, "script": [{"gap": 0, "when": null, "action": {"kind": "events", "events": [{"type": "vacate", "host": "h1"}], "valid": [true]}}, {"gap": 0, "when": null, "action": {"kind": "events", "events": [{"type": "vacate", "host": "h0"}], "valid": [true]}}, {"gap": 0, "when": null, "action": {"kind": "events", "events": [{"type": "vacate", "host": "h2"}], "valid": [true]}}, {"gap": 5, "when": null, "action": {"kind": "events", "events": [{"type": "vacate", "host": "h3"}], "valid": [true]}}, {"gap": 0, "when": null, "action": {"kind": "events", "events": [{"type": "vacate", "host": "h4"}], "valid": [true]}}, {"gap": 0, "when": null, "action": {"kind": "fault", "worker": 0, "fault": "throw"}}]},
  "recover-ignores-pending-events (available)": {"livenessMs": 50, "emulate": false, "soloRate": 8000, "minIntervalMs": 0, "waitTimeoutMs": 50, "rebalance": true, "copyBytesPerMs": 100000, "maxPasses": 6, "seed": 0, "returning": 0, "returnAfterGiveUp": false, "hosts": 3, "declared": [1, 1, 1], "rates": [1, 1, 1], "total": 20, "script": [{"gap": 1, "when": null, "action": {"kind": "events", "events": [{"type": "vacate", "host": "h1"}, {"type": "vacate", "host": "h2"}], "valid": [true, true]}}, {"gap": 0, "when": null, "action": {"kind": "advance", "ms": 20}}, {"gap": 0, "when": null, "action": {"kind": "moveFault", "worker": 1, "fault": "throw"}}, {"gap": 1, "when": null, "action": {"kind": "events", "events": [{"type": "vacate", "host": "h0"}, {"type": "available", "host": "h1"}], "valid": [true, true]}}, {"gap": 0, "when": "redistributing", "action": {"kind": "events", "events": [{"type": "available", "host": "h2"}], "valid": [true]}}]},
  "unhandled-rejection": {"hosts": 3, "livenessMs": 50, "declared": [1, 1, 1], "rates": [1, 1, 1], "emulate": false, "soloRate": 8000, "total": 30, "minIntervalMs": 0, "waitTimeoutMs": 50, "rebalance": false, "copyBytesPerMs": 100000, "maxPasses": 2, "script": [{"gap": 2, "when": null, "action": {"kind": "slow", "worker": 1, "ms": 3}}, {"gap": 0, "when": null, "action": {"kind": "moveFault", "worker": 2, "fault": "throw"}}, {"gap": 0, "when": null, "action": {"kind": "events", "events": [{"type": "vacate", "host": "h0"}, {"type": "vacate", "host": "h1"}], "valid": [true, true]}}], "seed": 0, "returning": 2, "returnAfterGiveUp": false},
  "computes-on-vacated-after-give-up": {"hosts": 1, "livenessMs": 50, "declared": [1], "rates": [1], "emulate": false, "soloRate": 8000, "total": 20, "minIntervalMs": 0, "waitTimeoutMs": 5, "rebalance": true, "copyBytesPerMs": 100000, "maxPasses": 2, "script": [{"gap": 1, "when": null, "action": {"kind": "events", "events": [{"type": "vacate", "host": "h0"}], "valid": [true]}}, {"gap": 0, "when": null, "action": {"kind": "advance", "ms": 20}}], "seed": 0, "returning": 0, "returnAfterGiveUp": false},
  "redistribute-does-not-settle": {"livenessMs": 5, "emulate": false, "soloRate": 8000, "minIntervalMs": 0, "waitTimeoutMs": 5, "rebalance": true, "copyBytesPerMs": 100000, "maxPasses": 2, "seed": 0, "returning": 0, "returnAfterGiveUp": false, "hosts": 3, "declared": [1, 1, 1], "rates": [1, 1, 1], "total": 3, "script": [{"gap": 0, "when": null, "action": {"kind": "events", "events": [{"type": "vacate", "host": "h2", "deadlineMs": 0}, {"type": "load", "host": "h1", "fraction": 0.1}, {"type": "available", "host": "h0"}], "valid": [true, true, true]}}, {"gap": 1, "when": null, "action": {"kind": "fault", "worker": 1, "fault": "throw"}}]},
  "fault-record-lost": {"livenessMs": 5, "emulate": false, "soloRate": 8000, "minIntervalMs": 0, "waitTimeoutMs": 5, "rebalance": true, "copyBytesPerMs": 100000, "maxPasses": 2, "seed": 0, "returning": 0, "returnAfterGiveUp": false, "hosts": 3, "declared": [1, 1, 1], "rates": [1, 1, 1], "total": 3, "script": [{"gap": 0, "when": null, "action": {"kind": "slow", "worker": 0, "ms": 7.5}}, {"gap": 0, "when": null, "action": {"kind": "moveFault", "worker": 1, "fault": "throw"}}]},
  "hand-off-settled-on-first-failure": {"hosts":5,"livenessMs":5,"declared":[1,1,1,1,1],"rates":[1,1,1,1,1],"emulate":false,"soloRate":8000,"total":11,"minIntervalMs":0,"waitTimeoutMs":5,"rebalance":false,"copyBytesPerMs":100000,"maxPasses":2,"script":[{"gap":0,"when":null,"action":{"kind":"moveFault","worker":1,"fault":"throw"}},{"gap":0,"when":null,"action":{"kind":"events","events":[{"type":"vacate","host":"h0"}],"valid":[true]}}],"seed":19782613,"returning":0,"returnAfterGiveUp":false},
  "between-passes-hand-off-to-hung-worker": {"hosts":2,"livenessMs":5,"declared":[1,4],"rates":[1,1],"emulate":false,"soloRate":8000,"total":1,"minIntervalMs":0,"waitTimeoutMs":5,"rebalance":true,"copyBytesPerMs":100000,"maxPasses":2,"betweenPassesMs":0,"script":[{"gap":0,"when":null,"action":{"kind":"fault","worker":0,"fault":"hang"}},{"gap":0,"when":"idle","action":{"kind":"events","events":[{"type":"vacate","host":"h1"},{"type":"available","host":"h0"}],"valid":[true,true]}}],"seed":0,"returning":0,"returnAfterGiveUp":false},
  "between-passes-recovery-without-receiver": {"hosts":2,"livenessMs":5,"declared":[1,1],"rates":[1,1],"emulate":false,"soloRate":8000,"total":12,"minIntervalMs":0,"waitTimeoutMs":5,"rebalance":false,"copyBytesPerMs":100000,"maxPasses":2,"betweenPassesMs":0,"script":[{"gap":0,"when":null,"action":{"kind":"moveFault","worker":1,"fault":"throw"}},{"gap":12,"when":null,"action":{"kind":"events","events":[{"type":"vacate","host":"h0"},{"type":"available","host":"h1"}],"valid":[true,true]}}],"seed":0,"returning":0,"returnAfterGiveUp":false},
};

describe('coordinator bugs the properties found (fixed; regression tests)', () => {
  const rejections = watchRejections();
  beforeAll(async () => {
    await warmUp();
    rejections.install();
  });
  afterAll(() => {
    rejections.remove();
  });

  for (const [bug, s] of Object.entries(SEQUENCES)) {
    it(bug, async () => {
      await runScenario(s);
    });
  }
});
