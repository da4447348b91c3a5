/**
 * A ModelTokenizer double for tests and benchmarks: special tokens first, then one id per
 * printable ASCII character. Special-token names are recognised in `template` segments only.
 */
import type { PromptSegment } from '../model/types.js';
import type { ModelTokenizer } from '../generation/model/model-parts.js';

const FIRST_CHAR = 32;
const LAST_CHAR = 126;

export class CharTokenizer implements ModelTokenizer {
  readonly vocabSize: number;
  constructor(readonly specials: string[] = ['<eos>', '<|image|>']) {
    this.vocabSize = specials.length + (LAST_CHAR - FIRST_CHAR + 1);
  }

  id(name: string): number {
    const at = this.specials.indexOf(name);
    if (at === -1) throw new Error(`no special token ${name}`);
    return at;
  }

  encodeText(text: string): number[] {
    return [...text].map((c) => {
      const code = c.charCodeAt(0);
      if (code < FIRST_CHAR || code > LAST_CHAR) throw new Error(`CharTokenizer has no id for ${JSON.stringify(c)}`);
      return this.specials.length + code - FIRST_CHAR;
    });
  }

  encodeSegments(segments: readonly PromptSegment[]): number[] {
    const ids: number[] = [];
    for (const s of segments) {
      if (s.type === 'image') ids.push(this.imageId());
      else if (s.type === 'content') for (const id of this.encodeText(s.text)) ids.push(id);
      else {
        let rest = s.text;
        while (rest) {
          const special = this.specials.find((t) => rest.startsWith(t));
          if (special) {
            ids.push(this.id(special));
            rest = rest.slice(special.length);
          } else {
            ids.push(...this.encodeText(rest[0]));
            rest = rest.slice(1);
          }
        }
      }
    }
    return ids;
  }

  imageId(): number {
    return this.id('<|image|>');
  }

  decode(ids: readonly number[], options: { skipSpecial?: boolean } = {}): string {
    return ids
      .map((id) => (id < this.specials.length ? (options.skipSpecial ? '' : this.specials[id]) : String.fromCharCode(id - this.specials.length + FIRST_CHAR)))
      .join('');
  }
}
