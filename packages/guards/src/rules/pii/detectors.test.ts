import { describe, expect, it } from 'vitest';
import { detectPii } from './detectors.js';

const kinds = (text: string) => detectPii(text).map((m) => `${m.kind}:${m.text}`);

describe('detectPii', () => {
  it('finds each kind with its exact span', () => {
    const text = 'Mail jane.doe+x@example.co.uk or call +44 20 7946 0958. Card 4111 1111 1111 1111, IBAN GB82 WEST 1234 5698 7654 32, SSN 123-45-6789.';
    expect(kinds(text)).toEqual([
      'email:jane.doe+x@example.co.uk',
      'phone:+44 20 7946 0958',
      'card:4111 1111 1111 1111',
      'iban:GB82 WEST 1234 5698 7654 32',
      'ssn:123-45-6789',
    ]);
    const m = detectPii(text)[0];
    expect(text.slice(m.start, m.end)).toBe('jane.doe+x@example.co.uk');
  });
  it('finds US phone numbers in common formats', () => {
    expect(kinds('(415) 555-0132')).toEqual(['phone:(415) 555-0132']);
    expect(kinds('415-555-0132')).toEqual(['phone:415-555-0132']);
  });
  it('ignores look-alikes: failed checksums, invalid SSN ranges, dates, short numbers', () => {
    expect(kinds('card 4111 1111 1111 1112')).toEqual([]);
    expect(kinds('SSN 666-12-3456 and 900-12-3456 and 123-00-4567')).toEqual([]);
    expect(kinds('on 2024-01-15 order 55512 cost 1,299.00')).toEqual([]);
    expect(kinds('IBAN DE89370400440532013001')).toEqual([]);
  });
});
