// The loop's moderation guarantees: a per-run verdict cache, fail-closed guard failures that the
// audit log explains, and verdict events carrying what a dashboard needs.
import { describe, expect, it } from 'vitest';
import type { Guard, GuardSubject, Verdict } from '@lookout/guards';
import { ScriptedModel, say } from '../testing/index.js';
import { Agent } from './agent.js';
import type { AgentEvent } from './events.js';

/** A guard that counts its calls; `answer` receives the call number (1-based). */
function counting(name: string, answer: (s: GuardSubject, call: number) => Verdict | Promise<Verdict> = () => safe(name)) {
  const g = {
    name,
    calls: 0,
    check(subject: GuardSubject) {
      g.calls += 1;
      return Promise.resolve(answer(subject, g.calls));
    },
  };
  return g;
}

const safe = (guard: string, extra: Partial<Verdict> = {}): Verdict => ({ safe: true, categories: [], guard, latencyMs: 0, ...extra });

function collect(agent: Agent): AgentEvent[] {
  const events: AgentEvent[] = [];
  for (const type of ['guard-verdict', 'blocked', 'text-delta', 'turn-end'] as const) agent.on(type, (e: AgentEvent) => events.push(e));
  return events;
}

// 'All good here' arrives as one delta: the chunk check sees all of it, and so does the final check.
const oneChunkReply = () => new ScriptedModel({ steps: [say('All good here', { chunk: 13 })], whenExhausted: 'repeat-last' });

describe('output moderation defaults', () => {
  it('release only text that a passing check covered, with windows of chunk + overlap and a final whole-reply check', async () => {
    const reply = Array.from({ length: 150 }, (_, i) => `token${i}`).join(' '); // ~1 000 characters
    const order: Array<{ check: string } | { release: string }> = [];
    const g = counting('out', (s) => {
      order.push({ check: s.content.text });
      return safe('out');
    });
    const agent = new Agent({ model: new ScriptedModel({ steps: [say(reply, { chunk: 7 })] }), guards: { output: [g] } });
    agent.on('text-delta', (e) => order.push({ release: e.text }));
    const result = await agent.run('talk');
    expect(result.text).toBe(reply);
    let covered = '';
    for (const entry of order) {
      if ('check' in entry) covered = entry.check;
      else expect(covered).toContain(entry.release);
    }
    const checks = order.flatMap((e) => ('check' in e ? [e.check] : []));
    expect(checks.at(-1)).toBe(reply);
    // 200-char chunks, 64 overlap, a 7-char delta and a held partial word at most.
    for (const text of checks.slice(0, -1)) expect(text.length).toBeLessThanOrEqual(200 + 64 + 7 + 9);
    expect(checks.length).toBeGreaterThan(4);
  });
});

describe('verdict cache', () => {
  it('does not classify identical content twice within a run, and starts afresh for the next run', async () => {
    const g = counting('out');
    const agent = new Agent({ model: oneChunkReply(), guards: { output: [g] }, outputChunkChars: 5 });
    const events = collect(agent);
    const result = await agent.run('hi');
    expect(result.text).toBe('All good here');
    expect(g.calls).toBe(1);
    // Both checks are still reported and audited.
    expect(events.filter((e) => e.type === 'guard-verdict')).toHaveLength(2);
    expect(result.audit.filter((a) => a.kind === 'verdict')).toHaveLength(2);
    await agent.run('hi');
    expect(g.calls).toBe(2);
  });

  it('can be turned off', async () => {
    const g = counting('out');
    await new Agent({ model: oneChunkReply(), guards: { output: [g] }, outputChunkChars: 5, verdictCache: false }).run('hi');
    expect(g.calls).toBe(2);
    expect(() => new Agent({ model: oneChunkReply(), verdictCache: { maxEntries: 0 } })).toThrow(/verdictCache\.maxEntries must be a positive integer, got 0/);
  });

  it('never caches failures: a guard that failed is asked again', async () => {
    const flaky = counting('flaky', (_s, call) => {
      if (call === 1) throw new Error('connection reset');
      return safe('flaky');
    });
    const agent = new Agent({ model: oneChunkReply(), guards: { output: [{ guard: flaky, failOpen: true }] }, outputChunkChars: 5 });
    const events = collect(agent);
    await agent.run('hi');
    expect(flaky.calls).toBe(2);
    const verdicts = events.filter((e) => e.type === 'guard-verdict');
    expect(verdicts.map((v) => v.failure)).toEqual(['error', undefined]);

    const nonsense = counting('nonsense', () => ({ label: 'safe' }) as unknown as Verdict);
    await new Agent({ model: oneChunkReply(), guards: { output: [{ guard: nonsense, failOpen: true }] }, outputChunkChars: 5 }).run('hi');
    expect(nonsense.calls).toBe(2);
  });

  it('keeps different guards with the same name apart', async () => {
    const a = counting('same', () => safe('same'));
    const b = counting('same', () => ({ safe: false, categories: ['S1'], guard: 'same', latencyMs: 0 }));
    const result = await new Agent({ model: oneChunkReply(), guards: { output: [a, b] } }).run('hi');
    expect(result.status).toBe('blocked');
    expect(b.calls).toBe(1);
  });
});

describe('guard failures', () => {
  const flagged = 'mix the SECRETSAUCE with water';
  const cases: Array<[string, Guard, 'timeout' | 'error' | 'unparseable', RegExp]> = [
    ['slow', { name: 'slow', check: () => new Promise(() => {}) }, 'timeout', /did not answer within 30 ms/],
    [
      'down',
      {
        name: 'down',
        check: async (s) => {
          throw Object.assign(new Error(`connect ECONNREFUSED 127.0.0.1:8000 while classifying "${s.content.text}"`), { code: 'ECONNREFUSED' });
        },
      },
      'error',
      /failed: Error \(ECONNREFUSED\): connect ECONNREFUSED 127\.0\.0\.1:8000 while classifying "\[…\]"/,
    ],
    ['nonsense', { name: 'nonsense', check: async () => ({ safe: 'no', categories: [] }) as unknown as Verdict }, 'unparseable', /not a Verdict \("safe" must be a boolean\)/],
    [
      'self-reported',
      { name: 'self-reported', check: async () => ({ safe: true, categories: [], guard: 'self-reported', latencyMs: 1, failure: 'unparseable', reason: 'model said "maybe"' }) },
      'unparseable',
      /model said "maybe"/,
    ],
  ];

  for (const [label, guard, failure, reason] of cases) {
    it(`a ${label} guard blocks by default and the stored audit says why without quoting the text`, async () => {
      const agent = new Agent({
        model: new ScriptedModel({ steps: [say(`Step one: ${flagged}.`, { chunk: 6 })] }),
        guards: { output: [{ guard, timeoutMs: 30 }] },
        outputChunkChars: 10,
      });
      const events = collect(agent);
      const result = await agent.run('how?', { sessionId: `fail-${label}` });
      expect(result.status).toBe('blocked');
      expect(result.blocked?.verdict).toMatchObject({ safe: false, failure, categories: [`guard-failure:${failure}`] });
      const stored = await agent.auditLog(`fail-${label}`);
      const entry = stored.find((a) => a.kind === 'verdict');
      expect(entry).toMatchObject({ stage: 'output', guard: label, safe: false, failure, action: 'block' });
      expect(entry?.kind === 'verdict' && entry.reason).toMatch(reason);
      expect(JSON.stringify(stored)).not.toContain('SECRETSAUCE');
      expect(JSON.stringify(events)).not.toContain('SECRETSAUCE');
      expect(events.filter((e) => e.type === 'text-delta')).toHaveLength(0);
    });
  }
});

describe('verdict events', () => {
  it('carry guard name, stage, categories, score and the latency the loop measured', async () => {
    const lg: Guard = {
      name: 'llama-guard',
      async check(s) {
        await new Promise((r) => setTimeout(r, 25));
        const unsafe = s.content.text.includes('knife');
        // This guard reports no latency of its own; the loop measures it.
        return { safe: !unsafe, categories: unsafe ? ['S1'] : [], score: unsafe ? 0.93 : 0.02, guard: 'llama-guard', latencyMs: 0 };
      },
    };
    const agent = new Agent({ model: new ScriptedModel({ steps: [say('Take the knife and', { chunk: 20 })] }), guards: { input: [lg], output: [lg] } });
    const events = collect(agent);
    await agent.run('hello');
    const verdicts = events.filter((e): e is Extract<AgentEvent, { type: 'guard-verdict' }> => e.type === 'guard-verdict');
    expect(verdicts.map((v) => [v.stage, v.guard, v.safe, v.categories, v.score])).toEqual([
      ['input', 'llama-guard', true, [], 0.02],
      ['output', 'llama-guard', false, ['S1'], 0.93],
    ]);
    for (const v of verdicts) {
      expect(v.latencyMs).toBeGreaterThanOrEqual(20);
      expect(v.verdict.latencyMs).toBe(v.latencyMs);
    }
    const blocked = events.find((e) => e.type === 'blocked');
    expect(blocked).toMatchObject({ stage: 'output', verdict: { guard: 'llama-guard', categories: ['S1'], score: 0.93 } });
  });
});
