/**
 * When chunked constrained decoding (constrained-chunks.ts) looks at the model's own token and
 * runs a chunk, and how long. A chunk pays off when the model's own tokens keep being allowed
 * (free text inside a string) and is wasted when the constraint refuses one of its first tokens
 * (structure the model does not follow, as with random weights): the rejected tail is computed
 * and thrown away and the last accepted position is fed again. So:
 *
 * - a chunk starts only where the model's own next token (the draft, one pass over the logits
 *   in JS) is allowed; where drafts keep being refused they are looked at less and less often
 *   (after 1, 2, 4, ... up to MAX_PAUSE positions), and those positions take the per-token
 *   path's masked choice without a draft, at its cost; entering a string looks again at once;
 * - a chunk taken whole doubles the next one (up to the decodeChunk limit); one cut later asks
 *   for about twice the run it had;
 * - a chunk cut within its first EARLY tokens is a miss: no draft and no chunk for the next
 *   2, 4, ... up to MAX_COOLDOWN positions, reset by a chunk that pays.
 *
 * The worst case, where nearly every model token is refused, is then the per-token path plus a
 * draft every MAX_PAUSE positions (and at each string) and at most one wasted chunk per
 * MAX_COOLDOWN positions. Every decision depends only on earlier positions, never on this
 * position's random draw, which keeps sampling exact (constrained-choice.ts).
 */
export const EARLY = 4;
export const MAX_COOLDOWN = 32;
export const MAX_PAUSE = 16;
export const MIN_CHUNK = 2;

export class ChunkPolicy {
  /** Tokens the next chunk asks for. */
  size: number;
  /** Positions to go without a draft after refused drafts, and how many were refused in a row. */
  private pause = 0;
  private refusals = 0;
  /** Positions to go without a chunk after a chunk cut early, and how many in a row were. */
  private cooldown = 0;
  private misses = 0;
  private readonly max: number;

  constructor(max: number) {
    this.max = Math.max(MIN_CHUNK, max);
    this.size = this.max;
  }

  /** Whether to look at the model's own token at this position (a chunk starts where it is allowed). */
  get draftNow(): boolean {
    return this.pause === 0 && this.cooldown === 0;
  }

  /** The output has just entered a string, where a model's tokens are most often allowed. */
  enteredString(): void {
    this.pause = 0;
    this.refusals = 0;
  }

  /** The draft of this position was refused. */
  refused(): void {
    this.refusals++;
    this.pause = Math.min(MAX_PAUSE, 2 ** (this.refusals - 1));
  }

  /** A position was decided in JS (one forward run for it). */
  stepped(): void {
    if (this.pause > 0) this.pause--;
    if (this.cooldown > 0) this.cooldown--;
  }

  /** A chunk of `asked` tokens had its first `accepted` ones allowed. */
  chunked(accepted: number, asked: number): void {
    this.refusals = 0;
    if (accepted >= asked) {
      this.misses = 0;
      this.size = Math.min(this.max, this.size * 2);
      return;
    }
    this.size = Math.min(this.max, Math.max(MIN_CHUNK, 2 ** Math.ceil(Math.log2(2 * Math.max(1, accepted)))));
    if (accepted < EARLY) {
      this.misses++;
      this.cooldown = Math.min(MAX_COOLDOWN, 2 ** this.misses);
    } else this.misses = 0;
  }
}
