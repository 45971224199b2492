import { AdmJob, type DataParallelJob, type JobOptions } from './adm-job.ts';
import { StaticJob } from './static-job.ts';

export type JobMode = 'adm' | 'plain';

/** Start the workers of a job: `adm` (adaptive, the default) or `plain` (static equal split). */
export function startJob(mode: JobMode, options: JobOptions): Promise<DataParallelJob> {
  // Checked here, before any worker starts: from JavaScript a missing clock surfaced as
  // "this.clock is not a function" deep inside xstate's inspector.
  if (typeof options.clock !== 'function') {
    return Promise.reject(
      new TypeError(
        'JobOptions.clock is required: a function returning milliseconds, e.g. () => performance.now()',
      ),
    );
  }
  return mode === 'adm' ? AdmJob.start(options) : StaticJob.start(options);
}
