/** The decision Llama Guard wrote, or why it could not be read. */
export type ParsedOutput =
  | { kind: 'safe' }
  | { kind: 'unsafe'; categories: string[]; unknown: string[] }
  | { kind: 'unparseable'; raw: string };

/**
 * Reads "safe" or "unsafe\nS1,S3". Leading/trailing whitespace (the "\n\n" the model starts with)
 * and a trailing <|eot_id|> a served engine may echo are ignored; anything else is unparseable.
 * Codes not in `knownCodes` are reported in `unknown`.
 */
export function parseLlamaGuardOutput(raw: string, knownCodes: string[]): ParsedOutput {
  const text = raw.replace(/<\|eot_id\|>\s*$/, '').trim();
  const lines = text.split('\n').map((l) => l.trim());
  if (lines.length === 1 && lines[0] === 'safe') return { kind: 'safe' };
  if (lines[0] === 'unsafe' && lines.length <= 2) {
    const codes = lines.length === 2 ? lines[1].split(',').map((c) => c.trim()).filter(Boolean) : [];
    if (lines.length === 2 && (codes.length === 0 || codes.some((c) => !/^[A-Za-z0-9_-]+$/.test(c)))) return { kind: 'unparseable', raw };
    return { kind: 'unsafe', categories: [...new Set(codes.filter((c) => knownCodes.includes(c)))], unknown: codes.filter((c) => !knownCodes.includes(c)) };
  }
  return { kind: 'unparseable', raw };
}
