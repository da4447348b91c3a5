import type { Verdict } from '@lookout/guards';
import type { StageDecision } from '../guarding/run-stage.js';

export interface OutputModeratorOptions {
  /** A mid-stream check is due once this many characters arrived since the last one. */
  chunkChars: number;
  /** Characters of already-checked text put in front of each new chunk. */
  overlapChars: number;
  /**
   * Characters at the end of checked text kept held after a passing mid-stream check; they go
   * out only after the next passing check (or the final one). Default: overlapChars.
   */
  holdbackChars?: number;
  /** False when no output guards are configured: text is released as it arrives. */
  guarded: boolean;
  /** Checks `text`: a new chunk with its overlap, or (final) the whole reply. */
  check(text: string, final: boolean): Promise<StageDecision>;
  release(text: string): void;
}

/**
 * Holds a step's streamed text back until a check covering it passed.
 *
 * Mid-stream checks see only the new chunk plus `overlapChars` of checked text before it (and
 * any text still held), so the cost grows linearly with the reply while a phrase split at a
 * chunk border is still seen whole. The final check always sees the whole reply. After a
 * passing mid-stream check the last `holdbackChars` of checked text stay held, cut back further
 * to a word start, and go into the next check: a flagged span of several words that the next
 * chunk completes ("Your card 4111 1111 " + "1111 1111") has none of its words released, as long
 * as the span is no longer than the holdback. On an unsafe verdict the held text is dropped and
 * nothing more is released.
 */
export class OutputModerator {
  /** The reply so far, with accepted redactions applied. */
  private reply = '';
  /** reply[0, releasedLength) went out; reply[0, checkedLength) passed a check. */
  private releasedLength = 0;
  private checkedLength = 0;
  private blocking?: Verdict;
  private readonly holdbackChars: number;

  constructor(private readonly options: OutputModeratorOptions) {
    this.holdbackChars = options.holdbackChars ?? options.overlapChars;
  }

  push(text: string): void {
    if (this.blocking) return;
    this.reply += text;
  }

  /** Enough unchecked text is held for a check (or any text at all when unguarded). */
  get due(): boolean {
    if (!this.options.guarded) return this.reply.length > this.releasedLength;
    return this.reply.length - this.checkedLength >= this.options.chunkChars;
  }

  get released(): string {
    return this.reply.slice(0, this.releasedLength);
  }

  get blockedBy(): Verdict | undefined {
    return this.blocking;
  }

  /** Checks and releases held text; `final` checks the whole reply even when nothing is held. */
  async checkpoint(final: boolean): Promise<void> {
    if (this.blocking) return;
    if (!this.options.guarded) return this.releaseTo(this.reply.length);
    if (final) return this.finalCheck();
    if (this.reply.length === this.checkedLength) return;

    const end = this.reply.length;
    // Overlap with checked text, and never less than all text still held.
    const start = Math.max(0, Math.min(this.releasedLength, this.checkedLength - this.options.overlapChars));
    const decision = await this.options.check(this.reply.slice(start, end), false);
    if (this.blocking) return;
    if (decision.kind === 'block') return this.block(decision.verdict);
    let checkedEnd = end;
    if (decision.kind === 'redact') {
      // Released text cannot be taken back: a redaction that rewrites it is treated as a block.
      if (!decision.text.startsWith(this.reply.slice(start, this.releasedLength))) return this.block(decision.verdict);
      this.reply = this.reply.slice(0, start) + decision.text + this.reply.slice(end);
      checkedEnd = start + decision.text.length;
    }
    this.checkedLength = checkedEnd;
    // The tail of what just passed stays held: the next chunk may complete a span that starts in it.
    const releasable = Math.max(this.releasedLength, checkedEnd - this.holdbackChars);
    this.releaseTo(this.releasedLength + this.wordBoundary(releasable, checkedEnd - this.releasedLength));
  }

  private async finalCheck(): Promise<void> {
    if (this.reply.length === 0) return;
    const end = this.reply.length;
    const decision = await this.options.check(this.reply, true);
    if (this.blocking) return;
    if (decision.kind === 'block') return this.block(decision.verdict);
    if (decision.kind === 'redact') {
      if (!decision.text.startsWith(this.released)) return this.block(decision.verdict);
      this.reply = decision.text + this.reply.slice(end);
    }
    this.checkedLength = this.reply.length;
    this.releaseTo(this.reply.length);
  }

  /**
   * How much of the held text before `end` (where the holdback starts) may go out: up to its last
   * whitespace, so no word goes out in part; all of it once the held text (`heldLength`) grew
   * past four chunks beyond the holdback without a space.
   */
  private wordBoundary(end: number, heldLength: number): number {
    const releasable = this.reply.slice(this.releasedLength, end);
    if (heldLength >= 4 * this.options.chunkChars + this.holdbackChars) return releasable.length;
    // A cut right before whitespace splits no word.
    if (/^\s/.test(this.reply.slice(end, end + 1))) return releasable.length;
    const match = /\s(?=\S*$)/.exec(releasable);
    return match ? match.index + 1 : 0;
  }

  private block(verdict: Verdict): void {
    this.blocking = verdict;
    this.reply = this.released;
    this.checkedLength = this.releasedLength;
  }

  private releaseTo(end: number): void {
    if (end <= this.releasedLength) return;
    const text = this.reply.slice(this.releasedLength, end);
    this.releasedLength = end;
    this.options.release(text);
  }
}
