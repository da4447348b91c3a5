import { SafetensorsError } from './errors.js';
import { dtypeByteSize, elementCount, isSafetensorsDtype, SAFETENSORS_DTYPES, type SafetensorsDtype } from './dtypes.js';

/** One tensor as described by a safetensors header. */
export interface TensorInfo {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** Absolute byte position of the tensor's data in `file` (8 + header length + data_offsets[0]). */
  byteOffset: number;
  byteLength: number;
  /** The file that holds the data (for sharded checkpoints, the shard). */
  file: string;
}

export interface ParsedHeader {
  /** Size of the JSON header in bytes (the u64 at the start of the file). */
  headerLength: number;
  /** Where tensor data starts: 8 + headerLength. */
  dataStart: number;
  metadata: Record<string, string>;
  /** In data order (ascending byteOffset). */
  tensors: TensorInfo[];
}

/** The reference implementation refuses headers larger than this; so do we, before allocating. */
export const MAX_HEADER_BYTES = 100 * 1024 * 1024;

/** Reads the 8-byte little-endian header length, refusing what cannot fit in the file. */
export function parseHeaderLength(prefix: Uint8Array, fileSize: number, file: string): number {
  if (fileSize < 8 || prefix.length < 8) {
    throw invalid(file, undefined, `file is ${fileSize} bytes; a safetensors file starts with an 8-byte header length`);
  }
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) {
    throw invalid(file, undefined, `header length ${n} exceeds the accepted maximum of ${MAX_HEADER_BYTES} bytes`);
  }
  const len = Number(n);
  if (8 + len > fileSize) {
    throw new SafetensorsError(
      'SAFETENSORS_TRUNCATED',
      `${file}: header length ${len} runs past the end of the ${fileSize}-byte file (truncated download?)`,
      file,
    );
  }
  return len;
}

/**
 * Parses and validates the JSON header: known dtypes, integer shapes, data_offsets inside the
 * data section, byte sizes equal to dtype size x element count, and no two tensors overlapping.
 */
export function parseHeader(json: Uint8Array, fileSize: number, file: string): ParsedHeader {
  const headerLength = json.length;
  const dataStart = 8 + headerLength;
  const dataSize = fileSize - dataStart;
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(json));
  } catch (err) {
    throw invalid(file, undefined, `header is not valid UTF-8 JSON (${(err as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw invalid(file, undefined, 'header must be a JSON object mapping tensor names to {dtype, shape, data_offsets}');
  }

  const metadata: Record<string, string> = {};
  const tensors: TensorInfo[] = [];
  for (const [name, entry] of Object.entries(parsed as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
        throw invalid(file, name, '__metadata__ must be an object of string values');
      }
      for (const [k, v] of Object.entries(entry)) {
        if (typeof v !== 'string') throw invalid(file, name, `__metadata__.${k} must be a string, got ${typeof v}`);
        metadata[k] = v;
      }
      continue;
    }
    tensors.push(parseEntry(name, entry, dataStart, dataSize, file));
  }

  tensors.sort((a, b) => a.byteOffset - b.byteOffset || a.byteLength - b.byteLength);
  for (let i = 1; i < tensors.length; i++) {
    const prev = tensors[i - 1];
    const cur = tensors[i];
    // Empty tensors occupy no bytes and cannot overlap anything.
    if (cur.byteLength > 0 && prev.byteLength > 0 && cur.byteOffset < prev.byteOffset + prev.byteLength) {
      throw invalid(file, cur.name, `data overlaps tensor "${prev.name}"; each tensor needs its own byte range`);
    }
  }
  return { headerLength, dataStart, metadata, tensors };
}

function parseEntry(name: string, entry: unknown, dataStart: number, dataSize: number, file: string): TensorInfo {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
    throw invalid(file, name, 'entry must be an object {dtype, shape, data_offsets}');
  }
  const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
  if (!isSafetensorsDtype(dtype)) {
    throw invalid(file, name, `dtype ${JSON.stringify(dtype)} is not one of ${SAFETENSORS_DTYPES.join(', ')}`);
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw invalid(file, name, `shape ${JSON.stringify(shape)} must be an array of non-negative integers`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
    throw invalid(file, name, `data_offsets ${JSON.stringify(offsets)} must be [begin, end] with non-negative integers`);
  }
  const [begin, end] = offsets as [number, number];
  if (begin > end) throw invalid(file, name, `data_offsets [${begin}, ${end}] has begin after end`);
  if (end > dataSize) {
    throw invalid(file, name, `data_offsets [${begin}, ${end}] run past the data section (${dataSize} bytes)`);
  }
  const expected = elementCount(shape) * dtypeByteSize(dtype);
  if (end - begin !== expected) {
    throw invalid(
      file,
      name,
      `data_offsets cover ${end - begin} bytes but ${dtype} x [${shape.join(', ')}] needs ${expected}`,
    );
  }
  return { name, dtype, shape: shape as number[], byteOffset: dataStart + begin, byteLength: end - begin, file };
}

function invalid(file: string, tensor: string | undefined, detail: string): SafetensorsError {
  const where = tensor === undefined ? '' : ` tensor "${tensor}":`;
  return new SafetensorsError('SAFETENSORS_HEADER_INVALID', `${file}:${where} ${detail}`, file, tensor);
}
