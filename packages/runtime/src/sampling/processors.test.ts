import { describe, expect, it } from 'vitest';
import { applyRepetitionPenalty, applyTemperature, applyTopK, applyTopP } from './processors.js';
import { argmax, topIndices } from './top-indices.js';

const f32 = (xs: number[]) => Float32Array.from(xs);

describe('applyRepetitionPenalty', () => {
  it('divides positive and multiplies negative scores of seen tokens only (HF semantics)', () => {
    const s = applyRepetitionPenalty(f32([4, -2, 3, -1]), [0, 1, 1], 2);
    expect(Array.from(s)).toEqual([2, -4, 3, -1]);
  });
  it('ignores ids outside the vocabulary and is a no-op at 1', () => {
    expect(Array.from(applyRepetitionPenalty(f32([1, 2]), [5, -1], 3))).toEqual([1, 2]);
    expect(Array.from(applyRepetitionPenalty(f32([1, -2]), [0, 1], 1))).toEqual([1, -2]);
  });
});

describe('applyTemperature', () => {
  it('divides every score by the temperature', () => {
    expect(Array.from(applyTemperature(f32([1, -2, 4]), 2))).toEqual([0.5, -1, 2]);
  });
});

describe('applyTopK', () => {
  it('keeps the k largest and masks the rest with -Infinity', () => {
    expect(Array.from(applyTopK(f32([1, 5, 3, 4]), 2))).toEqual([-Infinity, 5, -Infinity, 4]);
  });
  it('keeps ties with the k-th score', () => {
    expect(Array.from(applyTopK(f32([2, 5, 2, 1]), 2))).toEqual([2, 5, 2, -Infinity]);
  });
  it('is a no-op when k is 0 or covers the vocabulary', () => {
    expect(Array.from(applyTopK(f32([1, 2]), 0))).toEqual([1, 2]);
    expect(Array.from(applyTopK(f32([1, 2]), 5))).toEqual([1, 2]);
  });
});

describe('applyTopP', () => {
  // probabilities 0.5, 0.25, 0.125, 0.125 (log2 spacing)
  const scores = () => f32([Math.log(0.5), Math.log(0.25), Math.log(0.125), Math.log(0.125)]);
  it('keeps the smallest head whose mass reaches p', () => {
    expect(Array.from(applyTopP(scores(), 0.7)).map(Number.isFinite)).toEqual([true, true, false, false]);
    expect(Array.from(applyTopP(scores(), 0.75)).map(Number.isFinite)).toEqual([true, true, false, false]);
    expect(Array.from(applyTopP(scores(), 0.76)).map(Number.isFinite).filter(Boolean).length).toBe(3);
  });
  it('always keeps the most likely token', () => {
    expect(Array.from(applyTopP(scores(), 0.01)).map(Number.isFinite)).toEqual([true, false, false, false]);
  });
  it('handles a vocabulary wider than its first head window', () => {
    const flat = new Float32Array(1000).fill(0);
    const kept = Array.from(applyTopP(flat, 0.5)).filter(Number.isFinite).length;
    expect(kept).toBe(500);
  });
});

describe('topIndices / argmax', () => {
  it('returns the k largest, largest first, lower id first on ties, skipping -Infinity', () => {
    expect(topIndices([3, 9, -Infinity, 9, 1], 3)).toEqual([1, 3, 0]);
    expect(topIndices([-Infinity, 2], 5)).toEqual([1]);
  });
  it('argmax takes the first maximum', () => {
    expect(argmax([1, 7, 7, 2])).toBe(1);
  });
});
