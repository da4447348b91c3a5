/** Splits token ids into overlapping windows so text longer than the model's context is fully seen. */
export function slidingWindows(ids: readonly number[], size: number, overlap: number): number[][] {
  if (!(size > 0)) throw new RangeError(`window size must be positive; got ${size}`);
  if (!(overlap >= 0 && overlap < size)) throw new RangeError(`window overlap must be in [0, ${size}); got ${overlap}`);
  if (ids.length <= size) return [ids.slice()];
  const stride = size - overlap;
  const windows: number[][] = [];
  for (let start = 0; ; start += stride) {
    const end = Math.min(start + size, ids.length);
    windows.push(ids.slice(Math.max(0, end - size), end));
    if (end === ids.length) break;
  }
  return windows;
}
