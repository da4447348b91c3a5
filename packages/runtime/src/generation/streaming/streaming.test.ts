import { describe, expect, it } from 'vitest';
import { ByteTableTokenizer } from '../../testing/byte-tokenizer.js';
import { StreamingDecoder } from '../../tokenizer/streaming-decoder.js';
import { StopStringMatcher } from './stop-strings.js';

// "é" is C3 A9, "😀" is F0 9F 98 80: split them across tokens as byte-level BPE does.
const tok = new ByteTableTokenizer(['He', 'llo', [0xc3], [0xa9], [0xf0, 0x9f], [0x98], [0x80], ' w', [0xff]]);

describe('StreamingDecoder', () => {
  it('never releases half a character', () => {
    const d = new StreamingDecoder(tok);
    const deltas = [0, 2, 3, 4, 5, 6, 7].map((id) => d.push(id));
    expect(deltas).toEqual(['He', '', 'é', '', '', '😀', ' w']);
    expect(deltas.join('')).toBe(tok.decode([0, 2, 3, 4, 5, 6, 7]));
    expect(d.flush()).toBe('');
  });
  it('flushes an invalid trailing byte as U+FFFD at the end', () => {
    const d = new StreamingDecoder(tok);
    expect(d.push(1)).toBe('llo');
    expect(d.push(8)).toBe('');
    expect(d.flush()).toBe('\uFFFD');
  });
});

describe('StopStringMatcher', () => {
  it('holds back a possible stop-string start and cuts at the stop string', () => {
    const m = new StopStringMatcher(['</end>']);
    expect(m.push('abc</')).toEqual({ text: 'abc', stopped: false });
    expect(m.push('en')).toEqual({ text: '', stopped: false });
    expect(m.push('d> tail')).toEqual({ text: '', stopped: true });
  });
  it('releases held text when it turns out not to be a stop string', () => {
    const m = new StopStringMatcher(['STOP']);
    expect(m.push('xST')).toEqual({ text: 'x', stopped: false });
    expect(m.push('ay')).toEqual({ text: 'STay', stopped: false });
    expect(m.push('S')).toEqual({ text: '', stopped: false });
    expect(m.flush()).toBe('S');
  });
  it('stops at the earliest of several stop strings', () => {
    const m = new StopStringMatcher(['bb', 'a']);
    expect(m.push('xxbbya')).toEqual({ text: 'xx', stopped: true });
  });
  it('passes everything through without stop strings', () => {
    expect(new StopStringMatcher([]).push('anything')).toEqual({ text: 'anything', stopped: false });
  });
});
