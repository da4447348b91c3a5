/**
 * Adapter for greedy chunks on the ONNX engine's decode session. `OnnxDecodeSession.greedy(n)`
 * picks the chunk's first token in JS with `chooseToken`, which sorts the whole vocabulary
 * (about 37 ms at 128,256 logits, more than a tiny model's 16 decode steps). Greedy needs only
 * the argmax, so this feeds that token and lets the session's in-graph loop choose the rest:
 * the same tokens, the same session state afterwards. Drop it once the session's own first-token
 * choice is cheap.
 */
import type { DecodeSession } from '../model/engine.js';
import { OnnxDecodeSession } from '../onnx/index.js';
import { argmax } from './sampling/top-indices.js';

/** Whether `greedyChunk` can serve this session. */
export function hasFastGreedyChunk(session: DecodeSession): session is OnnxDecodeSession {
  return session instanceof OnnxDecodeSession;
}

/** `count` greedy tokens in one run: the argmax of the current logits, then `count - 1` in the graph. */
export async function greedyChunk(session: OnnxDecodeSession, count: number): Promise<number[]> {
  const first = argmax(session.logits);
  // run(ids, allLogits, extraBytes, loopSteps): feeds `first`, then the loop feeds count - 1 more.
  const rest = await session.run([first], false, 0, count - 1);
  return [first, ...rest];
}
