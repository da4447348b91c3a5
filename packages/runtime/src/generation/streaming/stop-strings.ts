/**
 * Finds stop strings in streamed text. Text that could still become the start of a stop string
 * is held back, so a caller never receives part of a stop string.
 */
export class StopStringMatcher {
  private held = '';
  private readonly maxLength: number;

  constructor(private readonly stops: readonly string[]) {
    this.maxLength = Math.max(0, ...stops.map((s) => s.length));
  }

  /** Feeds a delta; returns the text safe to release and whether a stop string was reached. */
  push(delta: string): { text: string; stopped: boolean } {
    if (this.stops.length === 0) return { text: delta, stopped: false };
    const buffer = this.held + delta;
    let hit = -1;
    for (const stop of this.stops) {
      const at = buffer.indexOf(stop);
      if (at !== -1 && (hit === -1 || at < hit)) hit = at;
    }
    if (hit !== -1) {
      this.held = '';
      return { text: buffer.slice(0, hit), stopped: true };
    }
    const keep = this.partialSuffixLength(buffer);
    this.held = buffer.slice(buffer.length - keep);
    return { text: buffer.slice(0, buffer.length - keep), stopped: false };
  }

  /** Releases held text at the end of a generation that did not stop on a string. */
  flush(): string {
    const text = this.held;
    this.held = '';
    return text;
  }

  /** Length of the longest suffix of `buffer` that is a proper prefix of some stop string. */
  private partialSuffixLength(buffer: string): number {
    for (let len = Math.min(this.maxLength - 1, buffer.length); len > 0; len--) {
      const tail = buffer.slice(buffer.length - len);
      if (this.stops.some((s) => s.startsWith(tail))) return len;
    }
    return 0;
  }
}
