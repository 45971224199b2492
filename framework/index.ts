/** admove's public API. Everything else under framework/ is internal. */

// Across machines: host agents, and the transport that runs a job's workers on them.
export { Agent, type AgentOptions } from './agent/agent.ts';
export { DEFAULT_LOAD_WATCH, type LoadWatchOptions } from './agent/load-watcher.ts';
// Authoring an app: a kernel (per-exemplar work, summed partial results) and a machine.
export type { KernelModule, PassKernel } from './app/kernel.ts';
export { passActor } from './app/pass-actor.ts';
export { isUserError, JobInterrupted, RunFailure, UserError } from './errors.ts';
// Events from the global scheduler.
export type {
  EventOutcome,
  EventRecord,
  HostName,
  SchedulerEvent,
  SchedulerEventType,
} from './events/types.ts';
// Data.
export type { ExemplarColumns } from './exemplars/columns.ts';
export { columnsFromTable } from './exemplars/rows.ts';
export { describeMachine } from './machine/describe.ts';
export { passMachine } from './machine/pass-machine.ts';
export { workerMachine } from './machine/worker-machine.ts';
export { AgentUnavailable } from './net/agent-connection.ts';
export {
  type AgentAddress,
  agentTransport,
  discoverAgents,
  type RemoteHost,
} from './net/agent-transport.ts';
export { type AgentLoadReading, type LoadReadingRecord, LoadRelay } from './net/load-relay.ts';
export { type Endpoint, parseEndpoint, readSecretFile } from './net/secure-socket.ts';
// The partitioner, pure.
export {
  evacuationTargets,
  NoHostAvailable,
  partitionBySpeed,
  planRedistribution,
  planTransfers,
  SpeedEstimator,
  type Transfer,
  type TransferPlan,
  type WorkerCapacity,
} from './partition/index.ts';
// Running a job.
export type { DataParallelJob, JobOptions } from './runtime/adm-job.ts';
export { type FaultPlan, type FaultRecord, parseFaultSpec, WorkerFault } from './runtime/faults.ts';
export type { RedistributionRecord, StateTransition, WorkerRecord } from './runtime/report-types.ts';
export { type JobMode, startJob } from './runtime/start-job.ts';
export type { HostSpec } from './runtime/start-workers.ts';
export type { WorkerLink, WorkerSpec, WorkerTransport } from './runtime/worker-link.ts';
export { moduleBeside } from './util/module-url.ts';
export { SeededRandom } from './util/random.ts';
