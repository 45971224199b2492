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
});
