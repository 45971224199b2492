/**
 * Replay one scenario with a step-by-step trace:
 *   tsx test/properties/replay.ts '<counterexample JSON>'   (fast-check prints it; `undefined` is accepted)
 */
import { onUnhandledRejection, runScenario, warmUp } from './driver.ts';
import type { Scenario } from './scenario.ts';

const text = process.argv[2];
if (!text) {
  console.error("usage: tsx test/properties/replay.ts '<scenario JSON>'");
  process.exit(2);
}
const parsed = JSON.parse(text.replace(/:undefined/g, ':null')) as Scenario | [Scenario];
const raw = Array.isArray(parsed) ? parsed[0] : parsed;
const s: Scenario = { ...raw, minGain: raw.minGain ?? undefined };
await warmUp();
process.on('unhandledRejection', onUnhandledRejection);
try {
  const stats = await runScenario(s, { trace: (line) => console.log(line) });
  console.log('ok', JSON.stringify(stats));
} catch (error) {
  console.log(String(error instanceof Error ? error.message : error));
  process.exitCode = 1;
}
