// Worker threads: starting one on a runtime module (tsx bootstrap for .ts sources) and the
// request/reply stack over it. Used by generation/worker, images/worker and, through the
// "@lookout/runtime/worker-support" entry, by the guards' Prompt Guard classifier.
export { SOURCE_EXT, spawnModuleWorker } from './spawn-worker.js';
export {
  PendingRequests,
  answerRequests,
  firstMessage,
  isReply,
  postError,
  postReply,
  serializeError,
  type Answer,
  type Reply,
  type SerializedError,
} from './requests.js';
