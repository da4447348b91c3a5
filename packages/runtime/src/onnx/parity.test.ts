import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { verifyCase } from './verify.js';

const REF = join(import.meta.dirname, '../../../../../shared/reference/mllama');

// HF transformers 4.45.2 reference vectors (float32, eager). Suggested f32 tolerances from the
// reference README: logits 2e-4, hidden states 1e-4, greedy ids exact.
describe('HF parity on the reference cases (fp32)', () => {
  it('tiny-text: text-only Mllama (cross layers skipped) matches logits, hidden states and 12 greedy tokens', async () => {
    const r = await verifyCase(join(REF, 'tiny-text'));
    expect(r.positions).toBe(16);
    expect(r.maxAbsDiff).toBeLessThanOrEqual(2e-4);
    expect(r.hiddenMaxAbsDiff).toBeLessThanOrEqual(1e-4);
    expect(r.decodeMaxAbsDiff).toBeLessThanOrEqual(2e-4);
    expect(r.tokens).toEqual(r.expectedTokens);
    expect(r.greedyMatch).toBe(true);
    expect(r.pass).toBe(true);
  }, 60_000);

  it('both cases also match with plain ONNX ops only (fused: false)', async () => {
    for (const name of ['tiny-text', 'tiny-a']) {
      const r = await verifyCase(join(REF, name), { fused: false });
      expect(r.maxAbsDiff).toBeLessThanOrEqual(2e-4);
      expect(r.greedyMatch).toBe(true);
    }
  }, 60_000);

  it('tiny-a: one image of 4 tiles matches projector output, logits, hidden states and 12 greedy tokens', async () => {
    const r = await verifyCase(join(REF, 'tiny-a'), { json: true });
    expect(r.positions).toBe(12);
    expect(r.crossStatesMaxAbsDiff).toBeLessThanOrEqual(1e-4);
    expect(r.maxAbsDiff).toBeLessThanOrEqual(2e-4);
    expect(r.perPositionMaxAbsDiff).toHaveLength(12);
    expect(r.hiddenMaxAbsDiff).toBeLessThanOrEqual(1e-4);
    expect(r.decodeMaxAbsDiff).toBeLessThanOrEqual(2e-4);
    expect(r.tokens).toEqual(r.expectedTokens);
  }, 60_000);
});
