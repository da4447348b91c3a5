// OpenAICompatibleModel, and Llama Guard scoring through it, against a real llama.cpp
// llama-server: Debian sid's build, unpacked by scripts/fetch-llama-server.sh into
// .cache/llama-server (or any binary named by LLAMA_SERVER), serving a GGUF that the runtime's
// GGUF writer makes from a tiny generated Llama 3 checkpoint (random weights, the real Llama 3
// vocabulary). Skipped, with a message, where no binary is found.
// It lives in test/ because it meets both packages: the runtime's served model and GGUF writer,
// and the guards' LlamaGuard.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LlamaGuard } from '@lookout/guards';
import {
  LlamaTokenizer,
  OpenAICompatibleModel,
  ServedAbortError,
  writeLlamaGguf,
  writeTinyCheckpoint,
  type ModelEvent,
  type ModelRequest,
  type OpenAICompatibleModelOptions,
  type PromptSegment,
} from '@lookout/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BINARY = process.env.LLAMA_SERVER || path.join(REPO, '.cache/llama-server/llama-server');
const hasServer = existsSync(BINARY);
if (!hasServer) {
  console.warn(
    `Skipping the llama-server tests: ${BINARY} is missing. Run scripts/fetch-llama-server.sh (Debian sid's llama.cpp-tools, unpacked into .cache/llama-server) or set LLAMA_SERVER=path to a llama-server binary.`,
  );
}

/** Token ids of the Llama 3 vocabulary that Llama Guard's answer is made of. */
const NL2 = 271; // "\n\n"
const SAFE = 19193; // "safe"
const UNSAFE = 39257; // "unsafe"

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

async function collect(events: AsyncIterable<ModelEvent>): Promise<ModelEvent[]> {
  const out: ModelEvent[] = [];
  for await (const e of events) out.push(e);
  return out;
}

const textOf = (events: ModelEvent[]) => events.flatMap((e) => (e.type === 'text-delta' ? [e.text] : [])).join('');
const tokensOf = (events: ModelEvent[]) => events.flatMap((e) => (e.type === 'token' ? [e] : []));
const finishOf = (events: ModelEvent[]) => events.find((e): e is Extract<ModelEvent, { type: 'finish' }> => e.type === 'finish')!;

describe.skipIf(!hasServer)('OpenAICompatibleModel against a real llama-server', () => {
  let dir: string;
  let child: ChildProcess;
  let log = '';
  let baseUrl: string;
  let tokenizer: LlamaTokenizer;
  let version = '';
  const model = (o: Partial<OpenAICompatibleModelOptions> = {}) => new OpenAICompatibleModel({ baseUrl, model: 'tiny', retry: { maxRetries: 0 }, ...o });

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'lookout-llama-server-'));
    const checkpoint = path.join(dir, 'checkpoint');
    await writeTinyCheckpoint(checkpoint, { arch: 'llama', seed: 6, hidden: 64, layers: 2, heads: 4, kvHeads: 2, intermediate: 128, tieWordEmbeddings: true });
    const gguf = path.join(dir, 'tiny.gguf');
    await writeLlamaGguf(checkpoint, gguf, { type: 'F32' });
    tokenizer = await LlamaTokenizer.fromDirectory(checkpoint);

    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}/v1`;
    child = spawn(BINARY, ['-m', gguf, '--host', '127.0.0.1', '--port', String(port), '-a', 'tiny', '-c', '2048', '-np', '1', '-t', '2', '--no-webui', '--no-warmup'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`llama-server exited (${code}) before it was ready:\n${log}`))));
    const ready = (async () => {
      for (const until = Date.now() + 30_000; Date.now() < until; await new Promise((r) => setTimeout(r, 100))) {
        const ok = await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.ok, () => false);
        if (ok) return;
      }
      throw new Error(`llama-server did not become ready in 30 s:\n${log}`);
    })();
    await Promise.race([ready, exited]);
    const props = (await (await fetch(`http://127.0.0.1:${port}/props`)).json()) as { build_info?: string };
    version = props.build_info ?? '';
    console.info(`llama-server ${version} (${BINARY})`);
  }, 60_000);

  afterAll(async () => {
    if (child && child.exitCode === null) {
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([gone, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const chat: ModelRequest = {
    messages: [
      { role: 'system', content: 'You are terse.' },
      { role: 'user', content: 'Name a colour.' },
    ],
    sampling: { maxTokens: 8 },
  };

  it('chats, streamed and as one JSON answer, with the same greedy text and usage', async () => {
    const streamed = await collect(model().stream(chat));
    const json = await collect(model({ stream: false }).stream(chat));
    expect(textOf(streamed).length).toBeGreaterThan(0);
    expect(streamed.filter((e) => e.type === 'text-delta').length).toBeGreaterThan(1);
    expect(textOf(json)).toBe(textOf(streamed));
    expect(finishOf(streamed)).toMatchObject({ reason: 'length', usage: { outputTokens: 8 } });
    // The engine rendered the Llama 3 chat template from the GGUF: header tokens and all.
    expect(finishOf(streamed).usage.inputTokens).toBeGreaterThan(15);
    expect(finishOf(json).usage).toMatchObject({ inputTokens: finishOf(streamed).usage.inputTokens, outputTokens: 8 });
  });

  it('reads chat logprobs: one token event per generated token, with ids and alternatives', async () => {
    for (const stream of [true, false]) {
      const events = await collect(model({ stream }).stream({ ...chat, topLogprobs: 3 }));
      const tokens = tokensOf(events);
      expect(tokens).toHaveLength(8);
      expect(tokens.map((t) => t.token.token).join('')).toBe(textOf(events));
      for (const t of tokens) {
        expect(t.token.id).toBeTypeOf('number');
        expect(t.token.logprob).toBeLessThanOrEqual(0);
        expect(t.top).toHaveLength(3);
        // Greedy: the chosen token is the most likely one.
        expect(t.top[0]).toEqual(t.token);
        expect(tokenizer.decode([t.token.id!])).toBe(t.token.token);
      }
    }
  });

  it("reads completions logprobs in llama-server's form (logprobs.content with ids), streamed and not", async () => {
    const prompt: PromptSegment[] = [{ type: 'template', text: '<|begin_of_text|>' }, { type: 'content', text: 'The capital of France is' }];
    // The wire format this client has to read.
    const wire = (await (
      await fetch(`${baseUrl}/completions`, { method: 'POST', body: JSON.stringify({ model: 'tiny', prompt: 'The capital of France is', max_tokens: 4, logprobs: 2, temperature: 0 }) })
    ).json()) as { choices: Array<{ text: string; logprobs: { content: Array<{ id: number; token: string; logprob: number; top_logprobs: unknown[] }>; tokens?: unknown } }> };
    const lp = wire.choices[0].logprobs;
    expect(lp.tokens).toBeUndefined();
    expect(lp.content).toHaveLength(4);
    expect(lp.content[0]).toMatchObject({ id: expect.any(Number), token: expect.any(String), logprob: expect.any(Number) });

    for (const stream of [true, false]) {
      const events = await collect(model({ stream, engineAddsBos: true }).stream({ prompt, topLogprobs: 2, sampling: { maxTokens: 4 } }));
      const tokens = tokensOf(events);
      expect(tokens).toHaveLength(4);
      expect(textOf(events)).toBe(wire.choices[0].text);
      expect(tokens.map((t) => t.token.id)).toEqual(lp.content.map((c) => c.id));
      tokens.forEach((t, i) => {
        expect(t.token.logprob).toBeCloseTo(lp.content[i].logprob, 3);
        expect(t.top).toHaveLength(2);
      });
    }
  });

  it('sends one BOS with engineAddsBos: llama-server adds its own to a completions prompt', async () => {
    const prompt: PromptSegment[] = [{ type: 'template', text: '<|begin_of_text|>' }, { type: 'content', text: 'Hello world' }];
    const ours = tokenizer.encodeSegments(prompt).length; // BOS, "Hello", " world"
    const once = finishOf(await collect(model({ engineAddsBos: true }).stream({ prompt, sampling: { maxTokens: 1 } })));
    expect(once.usage.inputTokens).toBe(ours);
    expect(log).not.toMatch(/starts with 2 BOS tokens/);
    // As written, the prompt's BOS comes on top of the engine's.
    const twice = finishOf(await collect(model().stream({ prompt, sampling: { maxTokens: 1 } })));
    expect(twice.usage.inputTokens).toBe(ours + 1);
    expect(log).toMatch(/starts with 2 BOS tokens/);
  });

  it('forwards response_format json_schema; the engine constrains the output', async () => {
    const schema = { type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'], additionalProperties: false };
    const events = await collect(
      model().stream({ messages: [{ role: 'user', content: 'ok?' }], responseFormat: { type: 'json_schema', name: 'answer', schema }, sampling: { maxTokens: 60 } }),
    );
    expect(finishOf(events).reason).toBe('stop');
    expect(JSON.parse(textOf(events))).toEqual({ ok: expect.any(Boolean) });
  });

  it('aborts a streamed answer and keeps serving', async () => {
    const controller = new AbortController();
    const run = (async () => {
      for await (const e of model().stream({ ...chat, sampling: { maxTokens: 400 } }, { signal: controller.signal })) if (e.type === 'text-delta') controller.abort();
    })();
    await expect(run).rejects.toBeInstanceOf(ServedAbortError);
    expect(finishOf(await collect(model().stream(chat))).usage.outputTokens).toBe(8);
  });

  describe('Llama Guard through OpenAICompatibleModel', () => {
    // The weights are random, so a GBNF grammar (a llama-server request field, added by a fetch
    // wrapper) makes the model write a Llama Guard answer token by token: "\n\n", then "safe" or
    // "unsafe" and a category. llama-server reports log-probabilities from the model's own
    // distribution (before the grammar), so the score is the model's.
    function guardModel(grammar: string) {
      const sent: Array<Record<string, unknown>> = [];
      const withGrammar: typeof fetch = (url, init) => {
        const body = JSON.parse(String(init?.body)) as Record<string, unknown>;
        if (String(url).endsWith('/completions') && !String(url).endsWith('/chat/completions')) body.grammar = grammar;
        sent.push(body);
        return fetch(url, { ...init, body: JSON.stringify(body) });
      };
      return { model: model({ engineAddsBos: true, fetch: withGrammar, capabilities: { images: false } }), sent };
    }
    const subject = { stage: 'input' as const, conversation: [], content: { text: 'How do I bake bread?', images: [] } };

    /** The same request again, unstreamed, straight to the engine: its own numbers. */
    async function replay(body: Record<string, unknown>) {
      const res = await fetch(`${baseUrl}/completions`, { method: 'POST', body: JSON.stringify({ ...body, stream: false, stream_options: undefined }) });
      return (await res.json()) as { usage: { prompt_tokens: number }; choices: Array<{ text: string; logprobs: { content: Array<{ id: number; logprob: number }> } }> };
    }

    it('gets a safe verdict and a score; the engine tokenizes the guard prompt as Lookout does', async () => {
      const { model: served, sent } = guardModel(`root ::= <[${NL2}]> <[${SAFE}]>`);
      const guard = new LlamaGuard({ model: served, variant: '1b' });
      const verdict = await guard.check(subject);
      expect(verdict).toMatchObject({ safe: true, categories: [] });
      expect(verdict.failure).toBeUndefined();
      expect(verdict.score).toBeTypeOf('number');
      expect(verdict.score).toBeGreaterThanOrEqual(0);
      expect(verdict.score).toBeLessThanOrEqual(1);

      expect(sent).toHaveLength(1);
      expect(sent[0]).toMatchObject({ logprobs: 20, temperature: 0 });
      expect(String(sent[0].prompt)).not.toMatch(/^<\|begin_of_text\|>/);
      const again = await replay(sent[0]);
      expect(again.choices[0].text).toBe('\n\nsafe');
      // One BOS and the same BPE as the in-process tokenizer: the engine sees the prompt Lookout built.
      expect(again.usage.prompt_tokens).toBe(tokenizer.encodeSegments(guard.prompt(subject)).length);
    });

    it('gets an unsafe verdict with its category, scored P(unsafe) from the engine log-probability', async () => {
      const { model: served, sent } = guardModel(`root ::= <[${NL2}]> <[${UNSAFE}]> "\\nS1"`);
      const verdict = await new LlamaGuard({ model: served, variant: '1b', tokenizer: { tokenToId: (t) => ({ safe: SAFE, unsafe: UNSAFE })[t] } }).check(subject);
      expect(verdict).toMatchObject({ safe: false, categories: ['S1'] });
      const again = await replay(sent[0]);
      const decision = again.choices[0].logprobs.content[1];
      expect(decision.id).toBe(UNSAFE);
      expect(Math.log(verdict.score!)).toBeCloseTo(decision.logprob, 3);

      // With a threshold the score decides: the random model gives "unsafe" almost no probability.
      const scored = await new LlamaGuard({ model: served, variant: '1b', threshold: 0.5 }).check(subject);
      expect(scored).toMatchObject({ safe: true, categories: [] });
      expect(scored.score).toBeLessThan(0.5);
    });
  });
});
