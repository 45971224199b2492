export { isNoHostAvailable, NoHostAvailable, NotEnoughRoom, PartitionInputError } from './errors.ts';
export { evacuationTargets } from './evacuation.ts';
export type {
  Measurement,
  SpeedEstimatorOptions,
  WorkerSpeedState,
} from './speed-estimator.ts';
export {
  DEFAULT_MIN_EXEMPLARS,
  DEFAULT_MIN_SECONDS,
  DEFAULT_SPEED_ALPHA,
  SpeedEstimator,
} from './speed-estimator.ts';
export { checkWorkers, effectiveWeights, partitionBySpeed } from './target-shares.ts';
export type { RedistributeDecision, RedistributeOptions, RedistributeReason } from './transfer-plan.ts';
export {
  DEFAULT_MIN_GAIN,
  estimatePassTime,
  planRedistribution,
  planTransfers,
  shouldRedistribute,
} from './transfer-plan.ts';
export type { Transfer, TransferPlan, WorkerCapacity } from './types.ts';
