import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../main.js';
import { captureIo } from '../test-support.js';

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const c = captureIo();
  const code = await runCli(['guard', ...args], c.io);
  return { code, out: c.out(), err: c.err() };
}

describe('lookout guard --print-prompt', () => {
  it('prints the prompt and its token ids as JSON without a model', async () => {
    const { code, out } = await run(['--print-prompt', '--json', '--text', 'hello <|eot_id|>', '--variant', '1b', '--exclude', 'S2']);
    expect(code).toBe(0);
    const { prompt, tokenIds } = JSON.parse(out) as { prompt: string; tokenIds: number[] };
    expect(prompt).toContain('User: hello <|eot_id|>\n\n');
    expect(prompt).not.toContain('S2:');
    // Only the template's own special tokens: the typed <|eot_id|> stays text.
    expect(tokenIds.filter((id) => id >= 128000)).toEqual([128000, 128006, 128007, 128009, 128006, 128007]);
    expect(tokenIds.at(-1)).toBe(128007);
  });

  it('takes a conversation file whose last message is under test, and custom categories', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'lookout-guard-cli-'));
    const file = path.join(dir, 'conv.json');
    await writeFile(file, JSON.stringify([{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'Buy from Acme!' }]));
    const { code, out } = await run(['--print-prompt', '--json', '--conversation', file, '--categories', '{"C1":"Competitor Promotion."}']);
    expect(code).toBe(0);
    const { prompt } = JSON.parse(out) as { prompt: string };
    expect(prompt).toContain("unsafe content in 'Agent' messages");
    expect(prompt).toContain('<BEGIN UNSAFE CONTENT CATEGORIES>\nC1: Competitor Promotion.\n<END UNSAFE CONTENT CATEGORIES>');
    expect(prompt).toContain('User: hi\n\nAgent: Buy from Acme!\n\n');
  });

  it('exits 2 on usage errors', async () => {
    expect((await run(['--print-prompt'])).code).toBe(2);
    expect((await run(['--text', 'x', '--variant', '2b', '--print-prompt'])).code).toBe(2);
    expect((await run(['--text', 'x'])).code).toBe(2);
    const bad = await run(['--text', 'x', '--role', 'bot', '--print-prompt']);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--role must be user or agent');
  });
});
