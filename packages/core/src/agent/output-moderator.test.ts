import { describe, expect, it } from 'vitest';
import type { StageDecision } from '../guarding/run-stage.js';
import { OutputModerator } from './output-moderator.js';

/** `holdbackChars` undefined: the default (= overlapChars). */
function moderator(decide: (text: string) => StageDecision, chunkChars = 10, overlapChars = 8, holdbackChars?: number) {
  const released: string[] = [];
  const checked: string[] = [];
  /** Every check and release in order, to prove nothing goes out before a check covered it. */
  const log: Array<{ kind: 'check'; text: string; passed: boolean; final: boolean } | { kind: 'release'; text: string }> = [];
  const m = new OutputModerator({
    chunkChars,
    overlapChars,
    ...(holdbackChars !== undefined ? { holdbackChars } : {}),
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
    // No holdback: the partial word is all that stays held.
    const { released, feed, m } = moderator((t) => (t.includes('MegaShop') ? { kind: 'block', verdict } : pass), 10, 8, 0);
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
    // No holdback, so the first chunk goes out and only the overlap can catch the phrase.
    const withOverlap = moderator(unsafe, 20, 12, 0);
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

  it('releases a long word-less run once it grew past four chunks, all but the holdback', async () => {
    const { released, feed } = moderator(() => pass, 5, 2);
    await feed(['x'.repeat(25)], false);
    expect(released.join('')).toBe('x'.repeat(23));
    const none = moderator(() => pass, 5, 2, 0);
    await none.feed(['x'.repeat(25)], false);
    expect(none.released.join('')).toBe('x'.repeat(25));
  });

  it('releases redacted text when the redaction keeps released text intact, else blocks', async () => {
    const ok = moderator((t) => ({ kind: 'redact', verdict, text: t.replace('ann@x.io', '[EMAIL]') }));
    await ok.feed(['mail ann@x.io now']);
    expect(ok.released.join('')).toBe('mail [EMAIL] now');

    // Without holdback the second window starts with overlap from released text; a redaction rewriting it blocks.
    const late = moderator((t) => (t.includes('SECRET') ? { kind: 'redact', verdict, text: '[gone]' } : pass), 10, 4, 0);
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

  describe('holdback', () => {
    // A spaced card number: flagged only once all four groups are there.
    const CARD = /\b\d{4} \d{4} \d{4} \d{4}\b/;
    const card = (t: string): StageDecision => (CARD.test(t) ? { kind: 'block', verdict } : pass);
    const parts = deltas('Thanks, Ada. Your card 4111 1111 1111 1111 is on file.', 5);

    it('releases nothing of a multi-word span that the next chunk completes', async () => {
      const { released, log, feed, m } = moderator(card, 12, 12);
      await feed(parts);
      expect(m.blockedBy).toBe(verdict);
      // A mid-stream check passed with the first groups in it, yet none of the number went out.
      expect(log.some((e) => e.kind === 'check' && e.passed && e.text.includes('4111 11'))).toBe(true);
      expect(released.join('')).toBe('Thanks, Ada. Your ');
    });

    it('without holdback the first groups of the number go out before the block', async () => {
      const { released, feed, m } = moderator(card, 12, 12, 0);
      await feed(parts);
      expect(m.blockedBy).toBe(verdict);
      expect(released.join('')).toContain('4111');
    });

    it('keeps the holdback of checked text held until the next passing check', async () => {
      const { log, feed, released } = moderator(() => pass, 10, 4, 6);
      const reply = 'one two three four five six seven eight nine ten';
      await feed(deltas(reply, 3));
      expect(released.join('')).toBe(reply);
      let checkedUpTo = 0;
      let out = 0;
      for (const entry of log) {
        if (entry.kind === 'check') {
          if (!entry.passed) break;
          checkedUpTo = entry.final ? reply.length : reply.indexOf(entry.text) + entry.text.length;
          if (entry.final) break;
        } else {
          out += entry.text.length;
          expect(out).toBeLessThanOrEqual(checkedUpTo - 6);
        }
      }
      // Some text did go out mid-stream, before the final check.
      expect(out).toBeGreaterThan(0);
    });

    it('lets a chunk redaction rewrite held text instead of blocking', async () => {
      const pii = (t: string): StageDecision => (CARD.test(t) ? { kind: 'redact', verdict, text: t.replace(CARD, '[CARD]') } : pass);
      const { released, feed, m } = moderator(pii, 12, 12);
      await feed(parts);
      expect(m.blockedBy).toBeUndefined();
      expect(released.join('')).toBe('Thanks, Ada. Your card [CARD] is on file.');
      // Without holdback the number's first groups were out already: the redaction has to block.
      const none = moderator(pii, 12, 12, 0);
      await none.feed(parts);
      expect(none.m.blockedBy).toBe(verdict);
    });
  });
});
