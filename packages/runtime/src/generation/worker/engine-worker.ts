/**
 * Entry point of the engine worker thread: builds the ForwardEngine named in workerData and
 * serves prefill/step requests from WorkerEngine. onnxruntime-node's session.run blocks the
 * thread that calls it; here that is this worker, never the main event loop.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import type { DecodeSession, ForwardEngine } from '../../model/engine.js';
import { decodeTokens } from '../decode-loop.js';
import { isMultiStepSession } from '../chunked-decode.js';
import { canRewind } from '../constrained-chunks.js';
import { newTally } from '../decode-plan.js';
import { postError, postReply, serializeError } from '../../worker-support/index.js';
import type { EngineFactorySpec, FromWorker, LogitsReply, ToWorker } from './protocol.js';

if (!parentPort) throw new Error('engine-worker.ts must run inside a worker thread (new Worker(...)).');
const port = parentPort;

const spec = (workerData as { factory: EngineFactorySpec }).factory;
const sessions = new Map<number, DecodeSession>();
const aborts = new Map<number, AbortController>();
let nextSession = 1;

const post = (message: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

/**
 * Moves the logits' buffer when it holds exactly these logits; otherwise copies them once. `keep`:
 * always a copy, the session still needs them (a multi-step session chooses the first token of
 * its next run from them).
 */
function sendLogits(id: number, session: number, logits: Float32Array, engineBytes: number, extra: Partial<LogitsReply> = {}, keep = false): void {
  const whole = logits.byteOffset === 0 && logits.buffer.byteLength === logits.byteLength && logits.buffer instanceof ArrayBuffer;
  if (whole && !keep) {
    try {
      postReply<LogitsReply>(port, id, { ...extra, session, logits, engineBytes, copiedBytes: 0 }, [logits.buffer as ArrayBuffer]);
      return;
    } catch {
      // Not detachable (e.g. external memory): fall through to a single copy.
    }
  }
  const copy = logits.slice();
  postReply<LogitsReply>(port, id, { ...extra, session, logits: copy, engineBytes, copiedBytes: copy.byteLength }, [copy.buffer]);
}

/** What a session offers to chunked constrained decoding (multi-step runs and rewinds). */
function multiStep(session: DecodeSession): LogitsReply['multiStep'] {
  if (!isMultiStepSession(session) || !canRewind(session)) return undefined;
  return { repetitionPenaltyInGraph: session.repetitionPenaltyInGraph !== false, logprobsInGraph: session.logprobsInGraph === true, length: session.length };
}

function sessionFor(id: number): DecodeSession {
  const session = sessions.get(id);
  if (!session) throw new Error(`decode session ${id} does not exist (disposed or never created)`);
  return session;
}

function rewind(session: DecodeSession, length: number | undefined): void {
  if (length === undefined) return;
  if (!canRewind(session)) throw new Error('this decode session cannot rewind');
  session.rewind(length);
}

async function loadEngine(): Promise<ForwardEngine> {
  const url = spec.module.startsWith('file:') ? spec.module : pathToFileURL(spec.module).href;
  const mod = (await import(url)) as Record<string, unknown>;
  const target = mod[spec.exportName] as Record<string, unknown> | ((...a: unknown[]) => unknown) | undefined;
  if (!target) throw new Error(`${spec.module} has no export named ${spec.exportName}`);
  const fn = spec.method ? (target as Record<string, unknown>)[spec.method] : target;
  if (typeof fn !== 'function') throw new Error(`${spec.exportName}${spec.method ? '.' + spec.method : ''} in ${spec.module} is not a function`);
  return (await (fn as (...a: unknown[]) => Promise<ForwardEngine>).apply(target, spec.args)) as ForwardEngine;
}

async function handle(engine: ForwardEngine, msg: ToWorker): Promise<void> {
  switch (msg.type) {
    case 'prefill': {
      const controller = new AbortController();
      aborts.set(msg.id, controller);
      try {
        const session = await engine.prefill(msg.inputIds, msg.vision, { signal: controller.signal });
        const id = nextSession++;
        sessions.set(id, session);
        const features = multiStep(session);
        sendLogits(msg.id, id, session.logits, session.lastTransferBytes, features ? { multiStep: features } : {}, features !== undefined);
      } finally {
        aborts.delete(msg.id);
      }
      return;
    }
    case 'step': {
      const session = sessionFor(msg.session);
      rewind(session, msg.rewindTo);
      const logits = await session.step(msg.tokenId);
      sendLogits(msg.id, msg.session, logits, session.lastTransferBytes, {}, multiStep(session) !== undefined);
      return;
    }
    case 'decode-chunk': {
      const session = sessionFor(msg.session);
      if (!isMultiStepSession(session)) throw new Error('this decode session cannot decode several tokens per run');
      rewind(session, msg.rewindTo);
      const ids = await session.decode(msg.count, msg.params, msg.uniforms, msg.seen);
      const logprobs = msg.params.topLogprobs !== undefined ? session.lastLogprobs?.map((lp) => ({ logprob: lp.logprob, top: lp.top.map((t) => ({ id: t.id, logprob: t.logprob })) })) : undefined;
      sendLogits(msg.id, msg.session, session.logits, session.lastTransferBytes, { ids, ...(logprobs ? { logprobs } : {}) }, true);
      return;
    }
    case 'abort':
    case 'stop-decode':
      aborts.get(msg.id)?.abort();
      return;
    case 'decode': {
      const controller = new AbortController();
      aborts.set(msg.id, controller);
      const tally = newTally();
      try {
        for await (const token of decodeTokens(engine, msg.plan, tally, controller.signal)) {
          post({ type: 'token', id: msg.id, token });
          // Let a stop-decode message in between forward passes.
          await new Promise<void>((resolve) => setImmediate(resolve));
          if (controller.signal.aborted) {
            tally.finishReason ??= 'abort';
            break;
          }
        }
      } finally {
        aborts.delete(msg.id);
      }
      const { firstLogits, ...rest } = tally;
      post({ type: 'decode-done', id: msg.id, ...rest, firstLogits }, firstLogits ? [firstLogits.buffer as ArrayBuffer] : []);
      return;
    }
    case 'dispose-session':
      sessions.get(msg.session)?.dispose();
      sessions.delete(msg.session);
      return;
    case 'dispose':
      for (const s of sessions.values()) s.dispose();
      sessions.clear();
      await engine.dispose();
      post({ type: 'disposed' });
      port.close();
      return;
  }
}

try {
  const engine = await loadEngine();
  port.on('message', (msg: ToWorker) => {
    handle(engine, msg).catch((error) => {
      if ('id' in msg) postError(port, msg.id, error);
    });
  });
  post({ type: 'ready', vocabSize: engine.vocabSize, contextLength: engine.contextLength });
} catch (error) {
  post({ type: 'load-error', error: serializeError(error) });
}
