/**
 * GPT-2 style byte-level mapping used by Llama 3's BPE: every byte is shown as a printable
 * character in token strings ("Ġ" is a space). Turning tokens back into bytes (not text) is what
 * lets a stream of tokens be decoded without splitting a multi-byte UTF-8 character.
 */

function buildByteToChar(): string[] {
  const printable: number[] = [];
  const push = (from: string, to: string) => {
    for (let c = from.charCodeAt(0); c <= to.charCodeAt(0); c++) printable.push(c);
  };
  push('!', '~');
  push('¡', '¬');
  push('®', 'ÿ');
  const table: string[] = new Array(256);
  let next = 256;
  for (let b = 0; b < 256; b++) {
    // Printable bytes map to themselves; the rest are shifted past 255 so none is whitespace.
    table[b] = String.fromCharCode(printable.includes(b) ? b : next++);
  }
  return table;
}

export const BYTE_TO_CHAR: readonly string[] = buildByteToChar();

const CHAR_TO_BYTE: ReadonlyMap<string, number> = new Map(BYTE_TO_CHAR.map((ch, byte) => [ch, byte]));

/** Bytes of a byte-level token string, or undefined when it holds a character outside the table. */
export function byteLevelTokenToBytes(token: string): Uint8Array | undefined {
  const out = new Uint8Array(token.length);
  for (let i = 0; i < token.length; i++) {
    const byte = CHAR_TO_BYTE.get(token[i]!);
    if (byte === undefined) return undefined;
    out[i] = byte;
  }
  return out;
}
