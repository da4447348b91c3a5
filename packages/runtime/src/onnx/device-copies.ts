/**
 * Host <-> device copies in an onnxruntime profile (SessionOptions `enableProfiling` /
 * `profileFilePrefix`, written by `session.endProfiling()`).
 *
 * When a graph runs on a device provider (CUDA), onnxruntime inserts `MemcpyFromHost` /
 * `MemcpyToHost` nodes wherever a value moves between a device kernel and a host kernel. Each
 * one is timed like any other node, as a Chrome-trace event named `<node>_kernel_time` whose
 * args carry `op_name`, `provider`, `output_size` and `input_type_shape` / `output_type_shape`.
 * A Loop's body runs inside the Loop node's own kernel event, one `SequentialExecutor::Execute`
 * session event per iteration, so the copies made per iteration are the copy events that start
 * inside a Loop event. Copies onnxruntime makes when it feeds a run (inputs handed over from
 * JS) or hands back its outputs are not nodes and do not appear here: count those bytes on the
 * JS side (the engine's `lastTransferBytes`).
 */
import { readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { LookoutError } from '@lookout/tools/errors';

export type ProfileErrorCode = 'PROFILE_NOT_FOUND' | 'PROFILE_INVALID';

export class ProfileError extends LookoutError<ProfileErrorCode> {}

/** One complete event ("ph": "X") of onnxruntime's profile; times in microseconds. */
export interface ProfileEvent {
  cat: string;
  name: string;
  ts: number;
  dur: number;
  ph?: string;
  pid?: number;
  tid?: number;
  args?: Record<string, unknown>;
}

export interface TensorTypeShape {
  /** onnxruntime's element type name: float, int64, MLFloat16, bool, ... */
  dtype: string;
  shape: number[];
}

export type CopyOp = 'MemcpyFromHost' | 'MemcpyToHost';

export interface DeviceCopy {
  /** The copy node's name (onnxruntime names them Memcpy, Memcpy_token_<n>). */
  node: string;
  op: CopyOp;
  direction: 'host-to-device' | 'device-to-host';
  provider: string;
  bytes: number;
  /** The copied tensor, when the profile records it. */
  tensor?: TensorTypeShape;
  /** Name of the innermost Loop node whose body made the copy; absent in the main graph. */
  loop?: string;
  ts: number;
}

export interface CopyTally {
  count: number;
  bytes: number;
  hostToDevice: number;
  deviceToHost: number;
  /** Bytes of the largest single copy (0 when there is none). */
  largest: number;
}

/** One execution of a Loop node (one run of the decoder with `greedy_steps` > 0, or 0). */
export interface LoopExecution {
  node: string;
  provider: string;
  ts: number;
  dur: number;
  iterations: number;
  /** Copies made inside this Loop's body, all iterations together. */
  copies: CopyTally;
  /** Kernels run directly in this Loop's body per provider, all iterations together. */
  kernelsByProvider: Record<string, number>;
}

export interface DeviceCopyReport {
  /** session.run calls in the profile (`model_run` events). */
  runs: number;
  /** Kernel events per execution provider, Loop bodies included. */
  kernelsByProvider: Record<string, number>;
  copies: DeviceCopy[];
  /** Copies outside any Loop body: made once per run. */
  graph: CopyTally;
  /** Copies inside Loop bodies, with the per-iteration average over every Loop iteration. */
  loopBody: CopyTally & { iterations: number; perIteration: { count: number; bytes: number } };
  loops: LoopExecution[];
}

const COPY_OPS: ReadonlySet<string> = new Set<CopyOp>(['MemcpyFromHost', 'MemcpyToHost']);
const KERNEL_SUFFIX = '_kernel_time';
/** The session event onnxruntime records once per execution of a graph or subgraph. */
const EXECUTOR_EVENT = 'SequentialExecutor::Execute';

/** Bytes per element of onnxruntime's element type names (DataTypeImpl::ToString). */
const ELEMENT_BYTES: Record<string, number> = {
  float: 4,
  double: 8,
  MLFloat16: 2,
  float16: 2,
  BFloat16: 2,
  bfloat16: 2,
  int8: 1,
  uint8: 1,
  int16: 2,
  uint16: 2,
  int32: 4,
  uint32: 4,
  int64: 8,
  uint64: 8,
  bool: 1,
};

/** Checks the JSON of a profile file: an array of events (or Chrome's `{traceEvents: [...]}`). */
export function parseProfile(json: unknown, source = 'profile'): ProfileEvent[] {
  const list = Array.isArray(json) ? json : isRecord(json) && Array.isArray(json.traceEvents) ? json.traceEvents : undefined;
  if (!list) throw new ProfileError('PROFILE_INVALID', `${source} is not an onnxruntime profile: expected a JSON array of trace events (or {"traceEvents": [...]})`);
  const events: ProfileEvent[] = [];
  list.forEach((e, i) => {
    if (!isRecord(e) || typeof e.name !== 'string' || typeof e.cat !== 'string' || typeof e.ts !== 'number') {
      throw new ProfileError('PROFILE_INVALID', `${source} event ${i} is not a trace event: it needs string "cat" and "name" and a numeric "ts"`);
    }
    // Instant and metadata events carry no duration; only complete events are timed spans.
    if (typeof e.dur !== 'number') return;
    events.push({ ...(e as object), dur: e.dur } as ProfileEvent);
  });
  return events;
}

export async function readProfile(file: string): Promise<ProfileEvent[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new ProfileError('PROFILE_NOT_FOUND', `cannot read the profile ${file}: ${(error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ProfileError('PROFILE_INVALID', `${file} is not JSON: ${(error as Error).message}`);
  }
  return parseProfile(json, file);
}

/**
 * The profile files a session wrote for `profileFilePrefix` (onnxruntime appends
 * `_<date>_<time>.json`), oldest first.
 */
export function findProfileFiles(prefix: string): string[] {
  const dir = path.dirname(prefix);
  const base = `${path.basename(prefix)}_`;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    names = [];
  }
  const files = names.filter((n) => n.startsWith(base) && n.endsWith('.json')).sort();
  if (files.length === 0) throw new ProfileError('PROFILE_NOT_FOUND', `no profile file ${base}*.json in ${dir}; was the session created with enableProfiling and ended with endProfiling()?`);
  return files.map((n) => path.join(dir, n));
}

/** Reads the tensor types and shapes of a kernel event's `input_type_shape` / `output_type_shape`. */
export function tensorTypeShapes(value: unknown): TensorTypeShape[] {
  // onnxruntime writes these as JSON arrays; some versions wrote them as a JSON string.
  let list = value;
  if (typeof list === 'string') {
    try {
      list = JSON.parse(list);
    } catch {
      return [];
    }
  }
  if (!Array.isArray(list)) return [];
  const out: TensorTypeShape[] = [];
  for (const entry of list) {
    if (!isRecord(entry)) continue;
    for (const [dtype, shape] of Object.entries(entry)) {
      if (Array.isArray(shape) && shape.every((d) => typeof d === 'number')) out.push({ dtype, shape: shape as number[] });
    }
  }
  return out;
}

/** Bytes of a tensor, or undefined for an element type this table does not know. */
export function typeShapeBytes(t: TensorTypeShape): number | undefined {
  const size = ELEMENT_BYTES[t.dtype];
  return size === undefined ? undefined : size * t.shape.reduce((a, b) => a * b, 1);
}

interface Kernel {
  event: ProfileEvent;
  node: string;
  op: string;
  provider: string;
}

function kernelOf(e: ProfileEvent): Kernel | undefined {
  if (e.cat !== 'Node' || !e.name.endsWith(KERNEL_SUFFIX)) return undefined;
  const op = e.args?.op_name;
  if (typeof op !== 'string') return undefined;
  const provider = typeof e.args?.provider === 'string' ? e.args.provider : 'unknown';
  return { event: e, node: e.name.slice(0, -KERNEL_SUFFIX.length), op, provider };
}

function copyOf(k: Kernel): Omit<DeviceCopy, 'loop'> {
  const args = k.event.args ?? {};
  const tensor = tensorTypeShapes(args.output_type_shape)[0] ?? tensorTypeShapes(args.input_type_shape)[0];
  const recorded = Number(args.output_size);
  const bytes = Number.isFinite(recorded) && args.output_size !== undefined ? recorded : tensor ? (typeShapeBytes(tensor) ?? 0) : 0;
  const op = k.op as CopyOp;
  return {
    node: k.node,
    op,
    direction: op === 'MemcpyFromHost' ? 'host-to-device' : 'device-to-host',
    provider: k.provider,
    bytes,
    ...(tensor ? { tensor } : {}),
    ts: k.event.ts,
  };
}

function emptyTally(): CopyTally {
  return { count: 0, bytes: 0, hostToDevice: 0, deviceToHost: 0, largest: 0 };
}

function addCopy(t: CopyTally, c: DeviceCopy): void {
  t.count++;
  t.bytes += c.bytes;
  if (c.direction === 'host-to-device') t.hostToDevice++;
  else t.deviceToHost++;
  t.largest = Math.max(t.largest, c.bytes);
}

interface Scan {
  /** Every kernel event, with the innermost Loop execution whose body ran it. */
  kernels: Array<Kernel & { loop?: LoopExecution }>;
  loops: LoopExecution[];
}

/** Places every kernel event in the main graph or in the body of one Loop execution. */
function scan(events: ProfileEvent[]): Scan {
  const kernels = events.map(kernelOf).filter((k): k is Kernel => k !== undefined);
  const loopKernels = kernels.filter((k) => k.op === 'Loop');
  const executions = new Map<ProfileEvent, LoopExecution>(
    loopKernels.map((l) => [l.event, { node: l.node, provider: l.provider, ts: l.event.ts, dur: l.event.dur, iterations: 0, copies: emptyTally(), kernelsByProvider: {} }]),
  );
  // The innermost Loop whose span holds an event's start, on the same thread: a Loop runs its
  // body synchronously inside its own kernel event.
  const innermost = (e: ProfileEvent): LoopExecution | undefined => {
    let best: ProfileEvent | undefined;
    for (const { event: le } of loopKernels) {
      if (le === e || e.ts < le.ts || e.ts > le.ts + le.dur) continue;
      if (le.tid !== undefined && e.tid !== undefined && (le.tid !== e.tid || le.pid !== e.pid)) continue;
      if (e.ts === le.ts && e.dur >= le.dur) continue; // an enclosing event, not a nested one
      if (!best || le.dur < best.dur) best = le;
    }
    return best && executions.get(best);
  };

  const placed: Scan['kernels'] = kernels.map((k) => ({ ...k, loop: innermost(k.event) }));
  const nameCounts = new Map<LoopExecution, Map<string, number>>();
  for (const k of placed) {
    if (!k.loop) continue;
    k.loop.kernelsByProvider[k.provider] = (k.loop.kernelsByProvider[k.provider] ?? 0) + 1;
    const counts = nameCounts.get(k.loop) ?? new Map<string, number>();
    counts.set(k.node, (counts.get(k.node) ?? 0) + 1);
    nameCounts.set(k.loop, counts);
  }
  // One body execution per iteration: executor events inside the Loop that no other executor
  // event inside it encloses (an If in the body runs its branch in a nested executor).
  const executors = events.filter((e) => e.cat === 'Session' && e.name === EXECUTOR_EVENT).map((e) => ({ e, loop: innermost(e) }));
  const encloses = (outer: ProfileEvent, inner: ProfileEvent) =>
    outer !== inner && outer.tid === inner.tid && outer.pid === inner.pid && outer.ts <= inner.ts && inner.ts + inner.dur <= outer.ts + outer.dur && (outer.ts < inner.ts || outer.dur > inner.dur);
  for (const { e, loop } of executors) {
    if (!loop) continue;
    if (executors.some((o) => o.loop === loop && encloses(o.e, e))) continue;
    loop.iterations++;
  }
  // Without executor events, each body node runs once per iteration.
  for (const [loop, counts] of nameCounts) if (loop.iterations === 0) loop.iterations = Math.max(...counts.values());
  return { kernels: placed, loops: [...executions.values()] };
}

/** Finds every host <-> device copy node in a profile and splits them into main graph and Loop bodies. */
export function analyzeDeviceCopies(events: ProfileEvent[]): DeviceCopyReport {
  return tallyCopies(events, scan(events));
}

function tallyCopies(events: ProfileEvent[], { kernels, loops }: Scan): DeviceCopyReport {
  const kernelsByProvider: Record<string, number> = {};
  const copies: DeviceCopy[] = [];
  const graph = emptyTally();
  const body = emptyTally();
  for (const k of kernels) {
    kernelsByProvider[k.provider] = (kernelsByProvider[k.provider] ?? 0) + 1;
    if (!COPY_OPS.has(k.op)) continue;
    const copy: DeviceCopy = { ...copyOf(k), ...(k.loop ? { loop: k.loop.node } : {}) };
    copies.push(copy);
    if (k.loop) {
      addCopy(body, copy);
      addCopy(k.loop.copies, copy);
    } else addCopy(graph, copy);
  }
  const iterations = loops.reduce((n, l) => n + l.iterations, 0);
  return {
    runs: events.filter((e) => e.cat === 'Session' && e.name === 'model_run').length,
    kernelsByProvider,
    copies,
    graph,
    loopBody: { ...body, iterations, perIteration: { count: iterations ? body.count / iterations : 0, bytes: iterations ? body.bytes / iterations : 0 } },
    loops,
  };
}

export interface KvCacheShape {
  numKvHeads: number;
  headDim: number;
}

/** True for a [1, kvHeads, any length, headDim] tensor: a layer's key or value cache. */
export function isKvCacheTensor(t: TensorTypeShape | undefined, kv: KvCacheShape): boolean {
  return !!t && t.shape.length === 4 && t.shape[0] === 1 && t.shape[1] === kv.numKvHeads && t.shape[3] === kv.headDim;
}

export interface KvCacheResidency {
  /** Loop iterations in the profile (tokens decoded inside the graph). */
  iterations: number;
  /** KV-cache-shaped copies made inside Loop iterations. */
  copiesInLoop: DeviceCopy[];
  /**
   * Kernels inside Loop iterations that read or write a KV-cache-shaped tensor on a provider
   * other than the device's (that tensor lives in host memory), as "OpType on Provider".
   */
  hostKernels: string[];
  /** undefined when no Loop iteration ran: the profile cannot tell. */
  stayedOnDevice: boolean | undefined;
}

/**
 * Did the KV cache stay on the device while the in-graph decode loop ran? No when a KV-sized
 * copy happened inside a Loop iteration, or when a kernel inside the loop touched the cache on
 * another provider than `deviceProvider` (e.g. an operator without a CUDA kernel for the dtype).
 */
export function kvCacheResidency(events: ProfileEvent[], kv: KvCacheShape, deviceProvider: string): KvCacheResidency {
  const scanned = scan(events);
  const report = tallyCopies(events, scanned);
  const copiesInLoop = report.copies.filter((c) => c.loop !== undefined && isKvCacheTensor(c.tensor, kv));
  const hostKernels = new Set<string>();
  for (const k of scanned.kernels) {
    if (!k.loop || k.provider === deviceProvider || COPY_OPS.has(k.op)) continue;
    const args = k.event.args ?? {};
    const tensors = [...tensorTypeShapes(args.input_type_shape), ...tensorTypeShapes(args.output_type_shape)];
    if (tensors.some((t) => isKvCacheTensor(t, kv))) hostKernels.add(`${k.op} on ${k.provider}`);
  }
  const iterations = report.loopBody.iterations;
  return {
    iterations,
    copiesInLoop,
    hostKernels: [...hostKernels].sort(),
    stayedOnDevice: iterations === 0 ? undefined : copiesInLoop.length === 0 && hostKernels.size === 0,
  };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
