// Start-up: flags and environment, the fallback when the in-process runtime fails, and the real
// entry point (what `pnpm start` runs) serving pages and shutting down on SIGTERM.
import { spawn } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../src/config.js';
import { DemoShopModel } from '../src/demo-model.js';
import { loadChatModel } from '../src/models.js';
import { tempDataDir } from './helpers.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('parseConfig', () => {
  it('defaults to the tiny checkpoint on port 3000', () => {
    const c = parseConfig([], {}, '/srv');
    expect(c).toMatchObject({ port: 3000, host: '127.0.0.1', model: { kind: 'tiny', cacheDir: '/srv/.cache/lookout/tiny' }, guard: { kind: 'none' }, refundApprovalLimit: 50 });
  });

  it('reads flags and environment variables; flags win', () => {
    const env = { PORT: '4000', LOOKOUT_BASE_URL: 'http://gpu:8000/v1', LOOKOUT_MODEL: 'llama', LOOKOUT_GUARD_DIR: 'guard' };
    expect(parseConfig(['--port', '5000'], env, '/srv')).toMatchObject({
      port: 5000,
      model: { kind: 'served', baseUrl: 'http://gpu:8000/v1', model: 'llama' },
      guard: { kind: 'dir', dir: '/srv/guard', variant: '11b-vision' },
    });
    expect(parseConfig(['--model-dir', 'm', '--device', 'cuda'], {}, '/srv')).toMatchObject({ model: { kind: 'dir', dir: '/srv/m', device: 'cuda' } });
    expect(parseConfig(['--demo'], {}, '/srv')).toMatchObject({ model: { kind: 'demo' } });
    expect(parseConfig(['--help'], {})).toBe('help');
  });

  it('rejects contradictory or malformed options with a message naming what is accepted', () => {
    expect(() => parseConfig(['--port', 'x'], {})).toThrow(/--port \/ PORT must be an integer 0-65535/);
    expect(() => parseConfig(['--demo', '--model-dir', 'm'], {})).toThrow(/choose one model/);
    expect(() => parseConfig(['--base-url', 'http://x'], {})).toThrow(/--base-url needs --model/);
    expect(() => parseConfig(['--guard-variant', '70b'], {})).toThrow(/11b-vision, 1b, 8b/);
    expect(() => parseConfig(['--bogus'], {})).toThrow(ConfigError);
    expect(() => parseConfig(['--staff-password', 'short'], {})).toThrow(/at least 12 characters/);
    expect(() => parseConfig(['--allowed-hosts', 'a b'], {})).toThrow(/--allowed-hosts/);
    expect(() => parseConfig(['--session-idle-days', '0'], {})).toThrow(/--session-idle-days/);
  });

  it('reads staff credentials and deployment options from flags and environment', () => {
    const env = { LOOKOUT_STAFF_USER: 'ops', LOOKOUT_STAFF_PASSWORD: 'a long staff password', LOOKOUT_ALLOWED_HOSTS: 'shop.example.com, shop.example.com:8443' };
    expect(parseConfig([], env)).toMatchObject({
      staff: { user: 'ops', password: 'a long staff password' },
      allowedHosts: ['shop.example.com', 'shop.example.com:8443'],
      secureCookies: false,
      trustProxy: false,
      sessionIdleDays: 30,
    });
    expect(parseConfig(['--secure-cookies', '--trust-proxy', '--session-idle-days', '7', '--max-sessions', '100'], {})).toMatchObject({
      staff: {},
      allowedHosts: undefined,
      secureCookies: true,
      trustProxy: true,
      sessionIdleDays: 7,
      maxSessions: 100,
    });
  });
});

it('falls back to the scripted demo model, saying why, when the tiny checkpoint cannot run', async () => {
  const dir = await tempDataDir();
  dirs.push(dir);
  const notADirectory = path.join(dir, 'file');
  await writeFile(notADirectory, 'x');
  const lines: string[] = [];
  const loaded = await loadChatModel({ kind: 'tiny', cacheDir: notADirectory }, (l) => lines.push(l));
  expect(loaded.model).toBeInstanceOf(DemoShopModel);
  expect(loaded.notReal).toBe(true);
  expect(lines.join('\n')).toContain('The in-process runtime could not run the tiny checkpoint');
  expect(loaded.banner[0]).toContain('scripted demo');
});

it('the entry point prints the URL, serves the pages and stops on SIGTERM', async () => {
  const dataDir = await tempDataDir();
  dirs.push(dataDir);
  const child = spawn(process.execPath, ['--import', 'tsx', 'examples/customer-service/src/main.ts', '--', '--demo', '--port', '0', '--data-dir', dataDir], { cwd: root });
  let out = '';
  child.stderr.on('data', (d) => (out += d));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out += d;
      // Resolved once the whole start-up block is out, the generated staff password included.
      const m = /support bot:\s+(http:\/\/\S+)[\s\S]*password: \S+\n/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.on('exit', (code) => reject(new Error(`exited with ${code}: ${out}`)));
  });
  expect(out).toContain('Model: scripted demo (--demo)');
  const signIn = await (await fetch(url)).text();
  expect(signIn).toContain('Demo sign-in');
  expect(signIn).toContain('Replies are scripted, not generated.');
  const moderation = await fetch(new URL('/moderation', url), { redirect: 'manual' });
  expect(moderation.status).toBe(303);
  expect(moderation.headers.get('location')).toBe('/staff/signin?next=/moderation');
  // No staff password configured: one is generated, printed once, and signs in.
  const printed = /user: (\S+)\s+password: (\S+)/.exec(out);
  expect(printed?.[1]).toBe('staff');
  const signIn2 = await fetch(new URL('/staff/signin', url), {
    method: 'POST',
    headers: { origin: new URL(url).origin },
    body: new URLSearchParams({ username: 'staff', password: printed![2]! }),
    redirect: 'manual',
  });
  expect(signIn2.status).toBe(303);
  expect(signIn2.headers.get('set-cookie')).toMatch(/^lookout_staff=/);
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  child.kill('SIGTERM');
  expect(await exited).toBe(0);
});
