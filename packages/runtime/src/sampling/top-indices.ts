/**
 * The k largest entries of a score vector, largest first, without sorting the whole vocabulary
 * (a min-heap of size k: O(n log k), which matters at 128K entries per step).
 * Entries equal to -Infinity or NaN are never returned.
 */
export function topIndices(values: ArrayLike<number>, k: number): number[] {
  const n = values.length;
  const size = Math.min(Math.max(0, Math.floor(k)), n);
  if (size === 0) return [];
  const heap: number[] = [];
  const less = (a: number, b: number) => values[a] < values[b] || (values[a] === values[b] && a > b);
  const siftUp = (i: number) => {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!less(heap[i], heap[parent])) break;
      [heap[i], heap[parent]] = [heap[parent], heap[i]];
      i = parent;
    }
  };
  const siftDown = (i: number) => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && less(heap[l], heap[m])) m = l;
      if (r < heap.length && less(heap[r], heap[m])) m = r;
      if (m === i) return;
      [heap[i], heap[m]] = [heap[m], heap[i]];
      i = m;
    }
  };
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (!(v > -Infinity)) continue; // skips -Infinity and NaN
    if (heap.length < size) {
      heap.push(i);
      siftUp(heap.length - 1);
    } else if (less(heap[0], i)) {
      heap[0] = i;
      siftDown(0);
    }
  }
  // Largest first; equal values keep the lower token id first.
  return heap.sort((a, b) => values[b] - values[a] || a - b);
}

/** Index of the largest entry (first one on ties); -1 when every entry is -Infinity/NaN. */
export function argmax(values: Float32Array | readonly number[]): number {
  // Hot path once per generated token over the whole vocabulary: keep it a plain typed loop.
  return values instanceof Float32Array ? argmaxF32(values) : argmaxArray(values);
}

function argmaxF32(values: Float32Array): number {
  let best = -1;
  let bestValue = -Infinity;
  const n = values.length;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (v > bestValue) {
      best = i;
      bestValue = v;
    }
  }
  return best;
}

function argmaxArray(values: readonly number[]): number {
  let best = -1;
  let bestValue = -Infinity;
  for (let i = 0; i < values.length; i++) {
    if (values[i] > bestValue) {
      best = i;
      bestValue = values[i];
    }
  }
  return best;
}
