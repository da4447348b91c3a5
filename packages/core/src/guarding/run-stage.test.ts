import { describe, expect, it } from 'vitest';
import type { Guard, GuardSubject, Verdict } from '@lookout/guards';
import { resolveGuards, type GuardSetting } from './config.js';
import { scrubbedReason } from './failure-reason.js';
import { runStage } from './run-stage.js';
import { verdictProblem } from './verdict-shape.js';

const subject: GuardSubject = { stage: 'tool-result', conversation: [], content: { text: 'mail ann@x.io or call 555-1234', images: [] } };

function fixed(name: string, verdict: Partial<Verdict>, delayMs = 0): Guard {
  return {
    name,
    async check() {
      if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
      return { safe: true, categories: [], guard: name, latencyMs: delayMs, ...verdict };
    },
  };
}

const run = (settings: GuardSetting[]) => runStage(resolveGuards(settings, 1_000), subject);

describe('runStage', () => {
  it('passes when every guard is safe and reports each verdict', async () => {
    const out = await run([fixed('a', {}), fixed('b', {})]);
    expect(out.decision.kind).toBe('pass');
    expect(out.verdicts.map((v) => v.verdict.guard).sort()).toEqual(['a', 'b']);
  });

  it('runs guards in parallel', async () => {
    const started = Date.now();
    await run([fixed('a', {}, 60), fixed('b', {}, 60), fixed('c', {}, 60)]);
    // Three 60 ms guards in sequence would take 180 ms; generous bound for a loaded machine.
    expect(Date.now() - started).toBeLessThan(170);
  });

  it('applies a safe verdict that carries redacted text (a PII guard in redact mode)', async () => {
    const out = await run([fixed('pii', { redactedText: 'mail [EMAIL] or call 555-1234' })]);
    expect(out.decision).toMatchObject({ kind: 'redact', text: 'mail [EMAIL] or call 555-1234' });
  });

  it('combines span redactions from several guards', async () => {
    const email = fixed('email', { safe: false, categories: ['pii:email'], redactions: [{ start: 5, end: 13, category: 'pii:email', replacement: '[EMAIL]' }] });
    const phone = fixed('phone', { redactions: [{ start: 22, end: 30, category: 'pii:phone', replacement: '[PHONE]' }], redactedText: 'unused' });
    const out = await run([{ guard: email, action: 'redact' }, { guard: phone, action: 'redact' }]);
    expect(out.decision).toMatchObject({ kind: 'redact', text: 'mail [EMAIL] or call [PHONE]' });
  });

  it('a block outranks redactions; a redact guard with nothing to redact with blocks', async () => {
    const redact = fixed('pii', { redactedText: 'x' }, 20);
    expect((await run([redact, fixed('kw', { safe: false })])).decision.kind).toBe('block');
    expect((await run([{ guard: fixed('r', { safe: false }), action: 'redact' }])).decision.kind).toBe('block');
  });

  it('turns nonsense answers into fail-closed verdicts', async () => {
    const weird: Guard = { name: 'weird', check: async () => ({ ok: true }) as unknown as Verdict };
    const out = await run([weird]);
    expect(out.decision.kind).toBe('block');
    expect(out.verdicts[0].verdict).toMatchObject({ safe: false, failure: 'unparseable', guard: 'weird' });
  });

  it('ignores warn guards for the decision', async () => {
    const out = await run([{ guard: fixed('w', { safe: false }), action: 'warn' }]);
    expect(out.decision.kind).toBe('pass');
    expect(out.verdicts[0]).toMatchObject({ action: 'warn', verdict: { safe: false } });
  });

  it('reports the failure kind with a reason that does not quote the checked text', async () => {
    const leaky: Guard = { name: 'leaky', check: async (s) => { throw new Error(`bad input: ${s.content.text}`); } };
    const out = await run([leaky]);
    expect(out.verdicts[0].verdict).toMatchObject({ safe: false, failure: 'error', categories: ['guard-failure:error'] });
    expect(out.verdicts[0].verdict.reason).toBe('Guard "leaky" failed: Error: bad input: […]');
  });

  it('measures latency itself and keeps the guard name of the entry', async () => {
    const out = await run([fixed('slowish', { latencyMs: 0, guard: 'other' }, 30)]);
    expect(out.verdicts[0].verdict.guard).toBe('slowish');
    expect(out.verdicts[0].verdict.latencyMs).toBeGreaterThanOrEqual(25);
  });
});

describe('verdictProblem', () => {
  it('accepts verdicts and names what is wrong with anything else, without quoting it', () => {
    expect(verdictProblem({ safe: true, categories: [], guard: 'g', latencyMs: 1, score: null })).toBeUndefined();
    expect(verdictProblem({ safe: false, categories: ['S1'], score: 0.7 })).toBeUndefined();
    expect(verdictProblem('unsafe')).toBe('got string');
    expect(verdictProblem({ safe: 'no', categories: [] })).toBe('"safe" must be a boolean');
    expect(verdictProblem({ safe: true, categories: [1] })).toBe('"categories" must be an array of strings');
    expect(verdictProblem({ safe: true, categories: [], score: 7 })).toBe('"score" must be a number in [0, 1]');
  });
});

describe('scrubbedReason', () => {
  it('cuts every run of 8+ characters shared with the checked text and bounds the length', () => {
    const text = 'please explain how to pick the lock of a door';
    expect(scrubbedReason('classifier rejected "how to pick the lock" (400)', text)).toBe('classifier rejected "[…]" (400)');
    expect(scrubbedReason('connect ECONNREFUSED 127.0.0.1:8000', text)).toBe('connect ECONNREFUSED 127.0.0.1:8000');
    expect(scrubbedReason('x'.repeat(1000), text)).toHaveLength(301);
  });
});
