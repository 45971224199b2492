import { AdmJob, type DataParallelJob, type JobOptions } from './adm-job.ts';
import { StaticJob } from './static-job.ts';

export type JobMode = 'adm' | 'plain';

/** Start the workers of a job: `adm` (adaptive, the default) or `plain` (static equal split). */
export function startJob(mode: JobMode, options: JobOptions): Promise<DataParallelJob> {
  return mode === 'adm' ? AdmJob.start(options) : StaticJob.start(options);
}
