export {
  DEFAULT_RECORD_LIMIT,
  type DrainResult,
  EventQueue,
  type EventQueueOptions,
  type EventSummary,
  type HostChange,
  type HostState,
  INITIAL_HOST_STATE,
} from './event-queue.ts';
export type {
  EventOutcome,
  EventRecord,
  HostName,
  SchedulerEvent,
  SchedulerEventType,
} from './types.ts';
export { checkEvent, describeHosts, EVENT_TYPES, type EventCheck, isValidFraction } from './validate.ts';
