/** admove's public API. Everything else under framework/ is internal. */
export type { KernelModule, PassKernel } from './app/kernel.ts';
export type { ExemplarColumns } from './exemplars/columns.ts';
export { isUserError, UserError } from './errors.ts';
export { SeededRandom } from './util/random.ts';
