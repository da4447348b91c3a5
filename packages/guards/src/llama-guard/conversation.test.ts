import { describe, expect, it } from 'vitest';
import type { GuardSubject } from '../types.js';
import { toGuardTurns } from './conversation.js';
import { parseLlamaGuardOutput } from './parse.js';
import { unsafeProbability } from './score.js';

const s = (stage: GuardSubject['stage'], text: string, conversation: GuardSubject['conversation'] = []): GuardSubject => ({
  stage,
  conversation,
  content: { text, images: [] },
});

describe('toGuardTurns', () => {
  it('drops history that starts with the agent and merges same-role turns', () => {
    const turns = toGuardTurns(
      s('tool-result', 'result 2', [
        { role: 'assistant', content: 'Welcome!' },
        { role: 'user', content: 'check both orders' },
        { role: 'assistant', content: '', toolCalls: [{ id: 'a', name: 'order', arguments: { id: 1 } }, { id: 'b', name: 'order', arguments: { id: 2 } }] },
        { role: 'tool', toolCallId: 'a', name: 'order', content: 'result 1' },
      ]),
    );
    expect(turns).toEqual([
      { role: 'user', texts: ['check both orders'] },
      { role: 'agent', texts: ['{"name":"order","parameters":{"id":1}}', '{"name":"order","parameters":{"id":2}}'] },
      { role: 'user', texts: ['result 1', 'result 2'] },
    ]);
  });
  it('gives an agent turn with no user before it an empty user turn', () => {
    expect(toGuardTurns(s('output', 'Hi, I am the shop bot.'))).toEqual([
      { role: 'user', texts: [''] },
      { role: 'agent', texts: ['Hi, I am the shop bot.'] },
    ]);
  });
  it('keeps at most maxHistoryTurns of history, still starting with the user', () => {
    const conversation = [
      { role: 'user' as const, content: 'u1' },
      { role: 'assistant' as const, content: 'a1' },
      { role: 'user' as const, content: 'u2' },
      { role: 'assistant' as const, content: 'a2' },
    ];
    expect(toGuardTurns(s('input', 'u3', conversation), { maxHistoryTurns: 3 }).map((t) => t.texts[0])).toEqual(['u2', 'a2', 'u3']);
    expect(toGuardTurns(s('input', 'u3', conversation), { maxHistoryTurns: 0 }).map((t) => t.texts[0])).toEqual(['u3']);
  });
});

describe('parseLlamaGuardOutput', () => {
  it('accepts the two documented forms and tolerates whitespace and a trailing <|eot_id|>', () => {
    expect(parseLlamaGuardOutput('\n\nsafe', ['S1'])).toEqual({ kind: 'safe' });
    expect(parseLlamaGuardOutput('\n\nunsafe\nS1, S3<|eot_id|>', ['S1', 'S3'])).toEqual({ kind: 'unsafe', categories: ['S1', 'S3'], unknown: [] });
    expect(parseLlamaGuardOutput('unsafe\nS1,S99', ['S1'])).toEqual({ kind: 'unsafe', categories: ['S1'], unknown: ['S99'] });
    expect(parseLlamaGuardOutput('unsafe\nS1\nextra', ['S1']).kind).toBe('unparseable');
  });
});

describe('unsafeProbability', () => {
  const nl = { token: { token: '\n\n', logprob: 0 }, top: [] };
  it('reads P(unsafe) at the token after "\\n\\n", by id when ids are known', () => {
    const step = { token: { token: 'safe', id: 19193, logprob: Math.log(0.8) }, top: [{ token: 'unsafe', id: 39257, logprob: Math.log(0.2) }] };
    expect(unsafeProbability([nl, step], { safe: { id: 19193, text: 'safe' }, unsafe: { id: 39257, text: 'unsafe' } })).toBeCloseTo(0.2, 12);
    // A different id with the same text is not the decision token when ids are known.
    expect(unsafeProbability([nl, step], { safe: { id: 1, text: 'safe' }, unsafe: { id: 2, text: 'unsafe' } })).toBeUndefined();
  });
  it('bounds P(unsafe) when only "safe" is listed', () => {
    const step = { token: { token: 'safe', logprob: Math.log(0.9) }, top: [{ token: 'x', logprob: Math.log(0.05) }] };
    expect(unsafeProbability([nl, step], { safe: { text: 'safe' }, unsafe: { text: 'unsafe' } })).toBeCloseTo(0.05, 12);
  });
});
