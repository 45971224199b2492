/**
 * The pass machine alone (framework/machine/pass-machine.ts, no runtime): a `pass` sent while
 * another pass is under way fails at once with an internal error, and the pass under way
 * still ends with its own outcome. Dropped, as it once was, the second `pass` was settled by
 * the first one's outcome (test/properties/README.md, the held-pass bug).
 */
import { describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import { type PassOutput, passMachine } from '../../framework/machine/pass-machine.ts';

describe('the pass machine', () => {
  it('refuses a pass sent in the middle of another, loudly, and lets that one finish', () => {
    const slices: Float64Array[] = [];
    const actor = createActor(
      passMachine.provide({ actions: { startSlice: (_, p) => void slices.push(p.params) } }),
      { input: { waitTimeoutMs: 1000 } },
    );
    const outcomes: PassOutput[] = [];
    actor.on('passDone', (e) => outcomes.push(e.output));
    actor.start();
    actor.send({ type: 'pass', params: Float64Array.of(1) });
    expect(actor.getSnapshot().value).toEqual({ computing: 'running' });
    expect(slices).toEqual([Float64Array.of(1)]);

    actor.send({ type: 'pass', params: Float64Array.of(2) });
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0].acc).toBeNull();
    expect(String(outcomes[0].failure)).toMatch(
      /internal error: a pass was sent while the pass machine was in another pass/,
    );
    // Nothing of the refused pass reached the one under way.
    expect(actor.getSnapshot().value).toEqual({ computing: 'running' });
    expect(slices).toHaveLength(1);

    actor.send({ type: 'slice.done', output: { acc: Float64Array.of(7), complete: true } });
    expect(outcomes).toHaveLength(2);
    expect(outcomes[1]).toMatchObject({ acc: Float64Array.of(7), gaveUp: false, failure: undefined });
    expect(actor.getSnapshot().value).toEqual({ idle: 'quiet' });
    actor.stop();
  });
});
