import { describe, expect, it } from 'vitest';
import { LlamaGuard } from '../llama-guard/llama-guard.js';
import { PiiGuard } from '../rules/pii-guard.js';
import { ScriptedModel } from '../testing/scripted-model.js';
import { PatternGuard } from '../rules/pattern-guard.js';
import { FixedGuard, textSubject } from '../testing/subjects.js';
import { GuardPolicy } from './guard-policy.js';
import { LruCache } from './lru-cache.js';

describe('GuardPolicy', () => {
  it('blocks with the configured refusal, warns, and redacts per stage', async () => {
    const policy = new GuardPolicy({
      guards: { input: [new PiiGuard()], output: [new PiiGuard()], 'tool-result': [new PiiGuard(), new PatternGuard({ blocklist: ['acme'] })] },
      actions: { input: { action: 'block', refusal: 'No personal data, please.' }, output: { action: 'warn' }, 'tool-result': { action: 'redact' } },
    });
    const blocked = await policy.evaluate(textSubject('my mail is a@b.io'));
    expect(blocked).toMatchObject({ outcome: 'block', text: 'No personal data, please.', refusal: 'No personal data, please.' });
    const warned = await policy.evaluate(textSubject('a@b.io', 'output'));
    expect(warned).toMatchObject({ outcome: 'warn', text: 'a@b.io' });
    // Two different guards find things; both get redacted across re-checks.
    const redacted = await policy.evaluate(textSubject('ACME support: a@b.io', 'tool-result'));
    expect(redacted).toMatchObject({ outcome: 'redact', text: '[REDACTED] support: [REDACTED:EMAIL]' });
    const clean = await policy.evaluate(textSubject('hello', 'tool-call'));
    expect(clean.outcome).toBe('allow');
  });
  it('caches verdicts by content so identical content is classified once', async () => {
    const model = new FixedGuard('model', { score: 0.1 }, 1);
    const policy = new GuardPolicy({ guards: { input: [model] } });
    await policy.evaluate(textSubject('same'));
    await policy.evaluate(textSubject('same'));
    await Promise.all([policy.evaluate(textSubject('other')), policy.evaluate(textSubject('other'))]);
    expect(model.calls).toBe(2);
    expect(policy.cache!.stats.hits).toBe(2);
    await policy.evaluate(textSubject('same', 'output'));
    expect(model.calls).toBe(2); // no output guards configured
  });
  it('does not cache failures, and a down model blocks by default with the reason', async () => {
    const down = new FixedGuard('llama-guard', new Error('connect ECONNREFUSED'), 1);
    const policy = new GuardPolicy({ guards: { input: [down] } });
    const d = await policy.evaluate(textSubject('hi'));
    expect(d.outcome).toBe('block');
    expect(d.verdict.reason).toContain('ECONNREFUSED');
    await policy.evaluate(textSubject('hi'));
    expect(down.calls).toBe(2);
  });
  it('a guard model answering nonsense blocks by default, and passes only when configured fail-open', async () => {
    const model = new ScriptedModel(() => ({ text: 'As an AI model I think this is fine.' }));
    const strict = new GuardPolicy({ guards: { output: [new LlamaGuard({ model, variant: '1b' })] } });
    const d = await strict.evaluate(textSubject('hello', 'output'));
    expect(d).toMatchObject({ outcome: 'block', verdict: { failure: 'unparseable' } });
    expect(d.verdict.reason).toContain('As an AI model I think this is fine.');
    const lenient = new GuardPolicy({ guards: { output: [{ guard: new LlamaGuard({ model, variant: '1b' }), failOpen: true }] } });
    const l = await lenient.evaluate(textSubject('hello', 'output'));
    expect(l).toMatchObject({ outcome: 'allow', verdict: { safe: true, failure: 'unparseable' } });
  });

  it('slow guard model times out and blocks', async () => {
    const policy = new GuardPolicy({ guards: { input: [new FixedGuard('slow', {}, 2_000)] }, timeoutMs: 20 });
    const d = await policy.evaluate(textSubject('hi'));
    expect(d).toMatchObject({ outcome: 'block', verdict: { failure: 'timeout' } });
  });
});

describe('LruCache', () => {
  it('evicts the least recently used entry', () => {
    const c = new LruCache<string, number>(2);
    c.set('a', 1);
    c.set('b', 2);
    c.get('a');
    c.set('c', 3);
    expect(c.peek('b')).toBeUndefined();
    expect(c.peek('a')).toBe(1);
    expect(c.size).toBe(2);
  });
});
