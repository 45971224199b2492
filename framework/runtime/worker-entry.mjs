// Plain-JS entry of a worker thread. Node 20 does not run `--import tsx` loader hooks
// inside worker threads for ESM, so the thread registers tsx itself and then loads the
// TypeScript worker (and, through it, the app's kernel module).
import { register } from 'tsx/esm/api';

register();
const worker = await import('./worker-thread.ts');
export default worker.default;
