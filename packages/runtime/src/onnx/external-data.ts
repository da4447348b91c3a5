import { closeSync, openSync, writeSync } from 'node:fs';

/**
 * Appends tensor bytes to one external-data file that several ONNX graphs can reference.
 * Tensors are written as they are produced, so only the tensor being written is in memory.
 */
export class ExternalDataWriter {
  private fd: number;
  private position = 0;
  bytesWritten = 0;

  /** `fileName` is what graphs record as `location` (relative to the graph file). */
  constructor(readonly path: string, readonly fileName: string, private readonly alignment = 64) {
    this.fd = openSync(path, 'w');
  }

  /** Writes the bytes and returns where they are; offsets are aligned for mmap-friendly reads. */
  append(bytes: Uint8Array): { offset: number; length: number } {
    const pad = (this.alignment - (this.position % this.alignment)) % this.alignment;
    if (pad) {
      writeSync(this.fd, new Uint8Array(pad), 0, pad, this.position);
      this.position += pad;
    }
    const offset = this.position;
    let done = 0;
    while (done < bytes.byteLength) {
      done += writeSync(this.fd, bytes, done, Math.min(bytes.byteLength - done, 1 << 30), offset + done);
    }
    this.position += bytes.byteLength;
    this.bytesWritten += bytes.byteLength;
    return { offset, length: bytes.byteLength };
  }

  /**
   * Starts a tensor written in pieces (see `piece`); returns its offset. Pieces must follow
   * one another with no other append in between; `end` gives the total length.
   */
  begin(): number {
    const pad = (this.alignment - (this.position % this.alignment)) % this.alignment;
    if (pad) {
      writeSync(this.fd, new Uint8Array(pad), 0, pad, this.position);
      this.position += pad;
    }
    this.openStart = this.position;
    return this.position;
  }

  piece(bytes: Uint8Array): void {
    let done = 0;
    while (done < bytes.byteLength) {
      done += writeSync(this.fd, bytes, done, Math.min(bytes.byteLength - done, 1 << 30), this.position + done);
    }
    this.position += bytes.byteLength;
    this.bytesWritten += bytes.byteLength;
  }

  end(): { offset: number; length: number } {
    return { offset: this.openStart, length: this.position - this.openStart };
  }

  private openStart = 0;

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}
