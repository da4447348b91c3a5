import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { GuardConfigError } from '../errors.js';
import { textSubject } from '../testing/subjects.js';
import { PatternGuard } from './pattern-guard.js';
import { PiiGuard } from './pii-guard.js';
import { SizeLimitGuard } from './size-limit-guard.js';

describe('PiiGuard', () => {
  const text = 'Reach me at a@b.io, card 5555 5555 5555 4444.';
  it('blocks with categories and reason, and reports spans', async () => {
    const v = await new PiiGuard().check(textSubject(text));
    expect(v.safe).toBe(false);
    expect(v.categories).toEqual(['pii:email', 'pii:card']);
    expect(v.reason).toBe('found 1 e-mail address, 1 payment card number');
    expect(v.redactions).toHaveLength(2);
  });
  it('redacts and stays safe', async () => {
    const v = await new PiiGuard({ action: 'redact' }).check(textSubject(text));
    expect(v.safe).toBe(true);
    expect(v.redactedText).toBe('Reach me at [REDACTED:EMAIL], card [REDACTED:CARD].');
  });
  it('checks only the configured kinds and rejects unknown ones', async () => {
    const v = await new PiiGuard({ kinds: ['card'] }).check(textSubject('a@b.io'));
    expect(v.safe).toBe(true);
    expect(() => new PiiGuard({ kinds: ['passport' as never] })).toThrow(GuardConfigError);
  });
});

describe('PatternGuard', () => {
  it('matches blocklist words on word boundaries, case-insensitively', async () => {
    const g = new PatternGuard({ blocklist: ['secret plan'], category: 'blocklist' });
    expect((await g.check(textSubject('the Secret Plan is here'))).safe).toBe(false);
    expect((await g.check(textSubject('the secret planet'))).safe).toBe(true);
  });
  it('redacts regex matches', async () => {
    const g = new PatternGuard({ patterns: [/sk-[a-z0-9]{8,}/], action: 'redact', replacement: '[KEY]' });
    const v = await g.check(textSubject('key sk-abcdef123456 ok'));
    expect(v).toMatchObject({ safe: true, redactedText: 'key [KEY] ok', categories: ['pattern'] });
  });
  it('rejects invalid patterns with a typed error', () => {
    expect(() => new PatternGuard({ patterns: ['(unclosed'] })).toThrow(/not a valid regular expression/);
    expect(() => new PatternGuard({})).toThrow(GuardConfigError);
  });
});

describe('SizeLimitGuard', () => {
  it('limits text length, image count and image bytes (bytes, data URLs and files)', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'lookout-size-'));
    const file = path.join(dir, 'img.bin');
    await writeFile(file, new Uint8Array(300));
    const g = new SizeLimitGuard({ maxTextLength: 5, maxImages: 2, maxImageBytes: 200 });
    const ok = await g.check({ stage: 'input', conversation: [], content: { text: 'hi', images: [new Uint8Array(10)] } });
    expect(ok.safe).toBe(true);
    const dataUrl = `data:image/png;base64,${Buffer.alloc(250).toString('base64')}`;
    const bad = await g.check({ stage: 'input', conversation: [], content: { text: 'too long', images: [dataUrl, file, new Uint8Array(1)] } });
    expect(bad.safe).toBe(false);
    expect(bad.categories.sort()).toEqual(['size:image-bytes', 'size:image-count', 'size:text']);
    expect(bad.reason).toContain('image 0 is 250 bytes');
    expect(bad.reason).toContain('image 1 is 300 bytes');
  });
});
