// Shared by the runtime's worker threads (generation/worker, images/worker); internal, not re-exported.
export { SOURCE_EXT, spawnModuleWorker } from './spawn-worker.js';
