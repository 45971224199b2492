export { type DefaultTraceOptions, defaultTrace, fastestHost } from './default-trace.ts';
export { findJsonSyntaxError, type JsonSyntaxError } from './json-position.ts';
export { type EventSink, TraceScheduler, type TraceSchedulerOptions } from './scheduler.ts';
export {
  loadTraceFile,
  loadTraceFileSync,
  MAX_TRACE_MS,
  parseTrace,
  serializeTrace,
  TRACE_SCHEMA_PATH,
  type Trace,
  type TraceEntry,
  type TraceTime,
} from './trace.ts';
