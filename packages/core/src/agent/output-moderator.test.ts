import { describe, expect, it } from 'vitest';
import type { StageDecision } from '../guarding/run-stage.js';
import { OutputModerator } from './output-moderator.js';

function moderator(decide: (text: string) => StageDecision, chunkChars = 10) {
  const released: string[] = [];
  const checked: string[] = [];
  const m = new OutputModerator({
    chunkChars,
    guarded: true,
    check: async (text) => {
      checked.push(text);
      return decide(text);
    },
    release: (t) => released.push(t),
  });
  const feed = async (parts: string[], final = true) => {
    for (const p of parts) {
      m.push(p);
      if (m.due) await m.checkpoint(false);
    }
    if (final) await m.checkpoint(true);
  };
  return { m, released, checked, feed };
}

const pass: StageDecision = { kind: 'pass' };
const verdict = { safe: false, categories: ['x'], guard: 'g', latencyMs: 0 };

describe('OutputModerator', () => {
  it('holds a trailing partial word so a flagged word split across chunks is never half released', async () => {
    const { released, feed, m } = moderator((t) => (t.includes('MegaShop') ? { kind: 'block', verdict } : pass));
    await feed(['Our competitor Mega', 'Shop is cheaper']);
    expect(released.join('')).toBe('Our competitor ');
    expect(m.blockedBy).toBe(verdict);
  });

  it('releases everything that passed the final check, in order', async () => {
    const { released, checked, feed } = moderator(() => pass);
    await feed(['Hello wor', 'ld, this is ', 'a reply']);
    expect(released.join('')).toBe('Hello world, this is a reply');
    expect(checked.at(-1)).toBe('Hello world, this is a reply');
  });

  it('releases a long word-less run once it grew past four chunks', async () => {
    const { released, feed } = moderator(() => pass, 5);
    await feed(['x'.repeat(25)], false);
    expect(released.join('')).toBe('x'.repeat(25));
  });

  it('releases redacted text when the redaction keeps released text intact, else blocks', async () => {
    const ok = moderator((t) => ({ kind: 'redact', verdict, text: t.replace('ann@x.io', '[EMAIL]') }));
    await ok.feed(['mail ann@x.io now']);
    expect(ok.released.join('')).toBe('mail [EMAIL] now');

    const late = moderator((t) => (t.includes('SECRET') ? { kind: 'redact', verdict, text: '[gone]' } : pass));
    await late.feed(['first part, ', 'then SECRET']);
    expect(late.released.join('')).toBe('first part, ');
    expect(late.m.blockedBy).toBe(verdict);
  });
});
