import { describe, expect, it } from 'vitest';
import type { StageDecision } from '../guarding/run-stage.js';
import { OutputModerator } from './output-moderator.js';

function moderator(decide: (text: string) => StageDecision, chunkChars = 10, overlapChars = 8) {
  const released: string[] = [];
  const checked: string[] = [];
  /** Every check and release in order, to prove nothing goes out before a check covered it. */
  const log: Array<{ kind: 'check'; text: string; passed: boolean; final: boolean } | { kind: 'release'; text: string }> = [];
  const m = new OutputModerator({
    chunkChars,
    overlapChars,
    guarded: true,
    check: async (text, final) => {
      checked.push(text);
      const decision = decide(text);
      log.push({ kind: 'check', text, passed: decision.kind === 'pass', final });
      return decision;
    },
    release: (t) => {
      released.push(t);
      log.push({ kind: 'release', text: t });
    },
  });
  const feed = async (parts: string[], final = true) => {
    for (const p of parts) {
      m.push(p);
      if (m.due) await m.checkpoint(false);
    }
    if (final) await m.checkpoint(true);
  };
  return { m, released, checked, log, feed };
}

const pass: StageDecision = { kind: 'pass' };
const verdict = { safe: false, categories: ['x'], guard: 'g', latencyMs: 0 };
const words = (n: number) => Array.from({ length: n }, (_, i) => `word${i % 10} `).join('');
const deltas = (text: string, size: number) => text.match(new RegExp(`[^]{1,${size}}`, 'g'))!;

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

  it('mid-stream checks see only the new chunk and its overlap, so the checked volume grows linearly', async () => {
    const reply = words(300); // 2100 characters
    const { released, checked, log, feed } = moderator(() => pass, 50, 20);
    await feed(deltas(reply, 7));
    expect(released.join('')).toBe(reply);
    const midStream = log.filter((e) => e.kind === 'check' && !e.final).map((e) => e.text);
    // chunk + overlap + the delta that crossed the threshold + one held partial word
    for (const text of midStream) expect(text.length).toBeLessThanOrEqual(50 + 20 + 7 + 6);
    expect(midStream.reduce((n, t) => n + t.length, 0)).toBeLessThan(2 * reply.length);
    // The final check still sees the whole reply, exactly once.
    expect(checked.filter((t) => t === reply)).toHaveLength(1);
    expect(checked.at(-1)).toBe(reply);
  });

  it('sees a phrase split at a chunk border through the overlap', async () => {
    const unsafe = (t: string): StageDecision => (t.includes('build a bomb') ? { kind: 'block', verdict } : pass);
    const parts = ['Here is how to build ', 'a bomb at home: first ', 'you take'];
    const withOverlap = moderator(unsafe, 20, 12);
    await withOverlap.feed(parts);
    expect(withOverlap.released.join('')).toBe('Here is how to build ');
    expect(withOverlap.m.blockedBy).toBe(verdict);
    // Without overlap the second chunk alone looks harmless and would go out before the final check.
    const without = moderator(unsafe, 20, 0);
    await without.feed(parts);
    expect(without.released.join('')).toContain('a bomb');
  });

  it('releases text only after a passing check that covered it, and always checks at the end', async () => {
    const { log, feed } = moderator((t) => (t.includes('zzz') ? { kind: 'block', verdict } : pass), 12, 4);
    await feed(deltas('one two three four five six seven eight nine ten', 3));
    let lastPassed: string | undefined;
    for (const entry of log) {
      if (entry.kind === 'check') lastPassed = entry.passed ? entry.text : undefined;
      else expect(lastPassed).toContain(entry.text);
    }
    expect(log.filter((e) => e.kind === 'check' && e.final)).toHaveLength(1);

    const short = moderator(() => pass, 100);
    await short.feed(['tiny']);
    expect(short.log).toEqual([
      { kind: 'check', text: 'tiny', passed: true, final: true },
      { kind: 'release', text: 'tiny' },
    ]);
  });

  it('releases a long word-less run once it grew past four chunks', async () => {
    const { released, feed } = moderator(() => pass, 5, 2);
    await feed(['x'.repeat(25)], false);
    expect(released.join('')).toBe('x'.repeat(25));
  });

  it('releases redacted text when the redaction keeps released text intact, else blocks', async () => {
    const ok = moderator((t) => ({ kind: 'redact', verdict, text: t.replace('ann@x.io', '[EMAIL]') }));
    await ok.feed(['mail ann@x.io now']);
    expect(ok.released.join('')).toBe('mail [EMAIL] now');

    // The second window starts with overlap from released text; a redaction rewriting it blocks.
    const late = moderator((t) => (t.includes('SECRET') ? { kind: 'redact', verdict, text: '[gone]' } : pass), 10, 4);
    await late.feed(['first part, ', 'then SECRET']);
    expect(late.released.join('')).toBe('first part, ');
    expect(late.m.blockedBy).toBe(verdict);
  });

  it('applies a chunk redaction to the held text only', async () => {
    const pii = (t: string): StageDecision =>
      t.includes('ann@x.io') ? { kind: 'redact', verdict: { ...verdict, safe: true }, text: t.replace('ann@x.io', '[EMAIL]') } : pass;
    const { released, feed } = moderator(pii, 10, 6);
    await feed(['Write to ', 'ann@x.io today ', 'or tomorrow.']);
    expect(released.join('')).toBe('Write to [EMAIL] today or tomorrow.');
  });
});
