import { describe, expect, it } from 'vitest';
import { ChunkPolicy, MAX_COOLDOWN, MAX_PAUSE } from './chunk-policy.js';

describe('ChunkPolicy', () => {
  it('grows whole chunks up to the limit and sizes a cut one by the run it had', () => {
    const p = new ChunkPolicy(16);
    expect(p.size).toBe(16);
    p.chunked(5, 16);
    expect(p.size).toBe(16); // 2 × 5 rounded up to a power of two, within the limit
    p.chunked(4, 16);
    expect(p.size).toBe(8);
    p.chunked(8, 8);
    expect(p.size).toBe(16);
    expect(p.draftNow).toBe(true);
  });

  it('pauses drafts after refusals (1, 2, 4, ... positions), and looks again on entering a string', () => {
    const p = new ChunkPolicy(16);
    const gaps: number[] = [];
    for (let round = 0; round < 7; round++) {
      expect(p.draftNow).toBe(true);
      p.refused();
      p.stepped();
      let gap = 0;
      while (!p.draftNow) {
        p.stepped();
        gap++;
      }
      gaps.push(gap);
    }
    expect(gaps).toEqual([0, 1, 3, 7, MAX_PAUSE - 1, MAX_PAUSE - 1, MAX_PAUSE - 1]);
    p.refused();
    expect(p.draftNow).toBe(false);
    p.enteredString();
    expect(p.draftNow).toBe(true);
  });

  it('after chunks cut early, no chunk for a doubling cooldown; a chunk that pays resets it', () => {
    const p = new ChunkPolicy(16);
    const cooldowns: number[] = [];
    for (let i = 0; i < 7; i++) {
      p.chunked(1, p.size);
      let n = 0;
      while (!p.draftNow) {
        p.stepped();
        n++;
      }
      cooldowns.push(n);
    }
    expect(cooldowns).toEqual([2, 4, 8, 16, MAX_COOLDOWN, MAX_COOLDOWN, MAX_COOLDOWN]);
    expect(p.size).toBe(2);
    p.chunked(2, 2);
    p.chunked(1, 4);
    let n = 0;
    while (!p.draftNow) {
      p.stepped();
      n++;
    }
    expect(n).toBe(2);
  });
});
