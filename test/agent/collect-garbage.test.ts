import { describe, expect, it } from 'vitest';
import { collectGarbage } from '../../framework/util/garbage.ts';

describe('collectGarbage (run when an agent ends a job)', () => {
  it('collects at once what nothing references any more', async () => {
    const ref = (() => new WeakRef({ rows: new Float32Array(1 << 18) }))();
    const nextTurn = () => new Promise((resolve) => setTimeout(resolve, 0));
    // A WeakRef's target stays alive until the turn that made (or read) it is over.
    await nextTurn();
    expect(ref.deref()).toBeDefined(); // nothing collected it by itself yet
    await nextTurn();
    collectGarbage();
    expect(ref.deref()).toBeUndefined();
  });
});
