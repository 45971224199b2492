/** Every benchmark, in the order `npm run bench` runs them. */
import { adaptation } from './adaptation.ts';
import { balance } from './balance.ts';
import type { Benchmark } from './lib/context.ts';
import { micro } from './micro.ts';
import { paperNetwork } from './paper-network.ts';
import { quiet } from './quiet.ts';
import { redistribution } from './redistribution.ts';
import { scale } from './scale.ts';
import { tcp } from './tcp.ts';

export const BENCHMARKS: readonly Benchmark[] = [
  quiet,
  redistribution,
  balance,
  adaptation,
  scale,
  micro,
  tcp,
  paperNetwork,
];
