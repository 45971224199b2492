/** What a refused --resume says about the settings that differ (apps/opt/checkpoint.ts). */
import { describe, expect, it } from 'vitest';
import { fingerprintChanges, fingerprintOf } from '../../apps/opt/checkpoint.ts';

const base = { data: ['mnist', 784, 100, 20, 10], hidden: 32, weightDecay: 0, seed: 1 };

describe('fingerprintChanges', () => {
  it('names each flag that differs, with both values', () => {
    const then = fingerprintOf(base);
    const now = fingerprintOf({ ...base, hidden: 7, weightDecay: 0.001 });
    expect(fingerprintChanges(then, now)).toBe(
      '--hidden: 32 in the checkpoint, 7 now; --weight-decay: 0 in the checkpoint, 0.001 now',
    );
    expect(fingerprintChanges(then, fingerprintOf({ ...base, data: ['other.csv', 784, 100, 20, 10] }))).toBe(
      'the data (--data, --synthetic and the split flags): ["mnist",784,100,20,10] in the checkpoint, ["other.csv",784,100,20,10] now',
    );
  });

  it('says so when another version wrote the checkpoint, and quotes what is not settings', () => {
    const older = fingerprintOf({ hidden: 32, seed: 1 });
    expect(fingerprintChanges(older, fingerprintOf(base))).toBe(
      `its settings are those of another admove version: ${older}`,
    );
    expect(fingerprintChanges('not json', fingerprintOf(base))).toBe('not json');
    expect(fingerprintChanges('7', fingerprintOf(base))).toBe('7');
  });
});
