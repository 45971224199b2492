import { describe, expect, it } from 'vitest';
import { portableKernel, resolveKernel } from '../../framework/util/kernel-specifier.ts';

const OPT_KERNEL = new URL('../../apps/opt/model/kernel.ts', import.meta.url).href;

describe('kernel specifiers: what an agent agrees to import', () => {
  it('names a kernel inside admove portably, and resolves it back below this installation', () => {
    const portable = portableKernel(OPT_KERNEL);
    expect(portable).toBe('admove:apps/opt/model/kernel');
    expect(resolveKernel(portable)).toMatch(/\/apps\/opt\/model\/kernel\.(ts|js)$/);
  });

  it('refuses anything else with one line', () => {
    expect(() => resolveKernel('data:text/javascript,process.exit(1)')).toThrow(/is not part of admove/);
    expect(() => resolveKernel('file:///etc/passwd')).toThrow(/is not part of admove/);
    expect(() => resolveKernel('admove:../outside/kernel')).toThrow(/leaves admove's tree/);
    expect(() => resolveKernel('admove:apps/%2e%2e/x')).toThrow(/not a plain module path/);
    expect(() => resolveKernel('admove:node_modules/tsx/dist/cli')).toThrow(/not admove's own code/);
    expect(() => resolveKernel('admove:apps/../node_modules/x')).toThrow(/leaves admove's tree|own code/);
    expect(() => resolveKernel('admove:.git/hooks/x')).toThrow(/not admove's own code/);
  });

  it('imports kernel modules of the apps and test fixtures only, not scripts that run on import', () => {
    for (const kernel of [
      'admove:apps/opt/model/kernel',
      'admove:apps/opt/model/simd-kernel',
      'admove:apps/kmeans/kernel',
      'admove:test/fixtures/id-sum-kernel',
    ]) {
      expect(resolveKernel(kernel)).toMatch(/kernel\.(ts|js)$/);
    }
    for (const script of [
      'admove:bench/run',
      'admove:test/opt-model/measure-kernel',
      'admove:bench/lib/reference-kernel',
      'admove:apps/cli/admove',
      'admove:apps/opt/train',
      'admove:framework/util/kernel-specifier',
      'admove:test/fixtures/until',
    ]) {
      expect(() => resolveKernel(script), script).toThrow(/is not a kernel module \(agents import only/);
    }
  });
});
