import { describe, expect, it } from 'vitest';
import { GuardAbortError } from '../errors.js';
import { PiiGuard } from '../rules/pii-guard.js';
import { PatternGuard } from '../rules/pattern-guard.js';
import { FixedGuard, textSubject } from '../testing/subjects.js';
import { composeGuards } from './compose-guards.js';

describe('composeGuards', () => {
  it('runs guards in parallel and is safe when all are safe', async () => {
    const a = new FixedGuard('a', { score: 0.2 }, 30);
    const b = new FixedGuard('b', { score: 0.4 }, 30);
    const p = composeGuards([a, b]).check(textSubject('x'));
    // Both were started before either answered.
    expect([a.calls, b.calls]).toEqual([1, 1]);
    const v = await p;
    expect(v).toMatchObject({ safe: true, guard: 'composite', score: 0.4 });
    expect(v.verdicts).toHaveLength(2);
  });
  it('first unsafe verdict wins and aborts the rest', async () => {
    const slow = new FixedGuard('slow', {}, 5_000);
    const bad = new FixedGuard('bad', { safe: false, categories: ['S1'], reason: 'violent' }, 5);
    const v = await composeGuards([slow, bad]).check(textSubject('x'));
    expect(v).toMatchObject({ safe: false, categories: ['S1'], reason: 'bad: violent' });
    expect(slow.aborted).toBe(1);
  });
  it('fails closed on throw and timeout, with the reason recorded', async () => {
    const thrower = new FixedGuard('thrower', new Error('model down'), 1);
    const v1 = await composeGuards([thrower]).check(textSubject('x'));
    expect(v1).toMatchObject({ safe: false, failure: 'error' });
    expect(v1.reason).toContain('model down');
    const slow = new FixedGuard('slow', {}, 5_000);
    const v2 = await composeGuards([slow], { timeoutMs: 20 }).check(textSubject('x'));
    expect(v2).toMatchObject({ safe: false, failure: 'timeout' });
    expect(v2.reason).toContain('did not answer within 20 ms');
    expect(slow.aborted).toBe(1);
  });
  it('fails open only for the guard configured so', async () => {
    const flaky = new FixedGuard('flaky', new Error('boom'), 1);
    const ok = new FixedGuard('ok', {}, 1);
    const v = await composeGuards([{ guard: flaky, failOpen: true }, ok]).check(textSubject('x'));
    expect(v.safe).toBe(true);
    expect(v.failure).toBe('error');
    expect(v.reason).toContain('fail-open');
    const v2 = await composeGuards([{ guard: flaky, failOpen: true }, { guard: new FixedGuard('other', new Error('x'), 1) }]).check(textSubject('x'));
    expect(v2.safe).toBe(false);
  });
  it('merges redactions of several redacting guards', async () => {
    const g = composeGuards([new PiiGuard({ action: 'redact' }), new PatternGuard({ blocklist: ['acme'], action: 'redact' })]);
    const v = await g.check(textSubject('ACME: mail x@y.org'));
    expect(v.redactedText).toBe('[REDACTED]: mail [REDACTED:EMAIL]');
  });
  it('rethrows the caller abort as GuardAbortError', async () => {
    const ac = new AbortController();
    const p = composeGuards([new FixedGuard('slow', {}, 5_000)]).check(textSubject('x'), { signal: ac.signal });
    ac.abort();
    await expect(p).rejects.toBeInstanceOf(GuardAbortError);
  });
});
