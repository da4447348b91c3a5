import type { Verdict } from '@lookout/guards';
import type { StageDecision } from '../guarding/run-stage.js';

export interface OutputModeratorOptions {
  chunkChars: number;
  /** False when no output guards are configured: text is released as it arrives. */
  guarded: boolean;
  /** Checks the whole reply so far (released + held). */
  check(text: string): Promise<StageDecision>;
  release(text: string): void;
}

/**
 * Holds a step's streamed text back until an output check covering it passed. Each check sees
 * the whole reply so far, so a guard judges new text in context; on an unsafe verdict the held
 * text is dropped and nothing more is released. After a passing mid-stream check the trailing
 * partial word stays held, so a flagged word split across chunks ("Mega" + "Shop") is never
 * half released.
 */
export class OutputModerator {
  private held = '';
  /** Characters added since the last check. */
  private unchecked = 0;
  private releasedText = '';
  private blocking?: Verdict;

  constructor(private readonly options: OutputModeratorOptions) {}

  push(text: string): void {
    if (this.blocking) return;
    this.held += text;
    this.unchecked += text.length;
  }

  /** Enough text is held for a check (or any text at all when unguarded). */
  get due(): boolean {
    return this.options.guarded ? this.unchecked >= this.options.chunkChars : this.held.length > 0;
  }

  get released(): string {
    return this.releasedText;
  }

  get blockedBy(): Verdict | undefined {
    return this.blocking;
  }

  /** Checks and releases held text; `final` checks the whole reply even when nothing is held. */
  async checkpoint(final: boolean): Promise<void> {
    if (this.blocking) return;
    if (!this.options.guarded) {
      this.emit(this.held);
      return;
    }
    if (!final && this.held.length === 0) return;
    const checked = this.held;
    const whole = this.releasedText + checked;
    if (whole.length === 0) return;
    this.unchecked = 0;
    const decision = await this.options.check(whole);
    if (decision.kind === 'block') return this.block(decision.verdict);
    if (decision.kind === 'redact') {
      // Released text cannot be taken back: a redaction that rewrites it is treated as a block.
      if (!decision.text.startsWith(this.releasedText)) return this.block(decision.verdict);
      this.emit(decision.text.slice(this.releasedText.length), checked.length);
      return;
    }
    this.emit(final ? checked : checked.slice(0, this.wordBoundary(checked)));
  }

  /** Where the held text may be cut: after its last whitespace; all of it once it grew long. */
  private wordBoundary(text: string): number {
    if (text.length >= 4 * this.options.chunkChars) return text.length;
    const match = /\s(?=\S*$)/.exec(text);
    return match ? match.index + 1 : 0;
  }

  private block(verdict: Verdict): void {
    this.blocking = verdict;
    this.held = '';
  }

  /** Releases `text`, which replaces the start of the held text (the rest stays held). */
  private emit(text: string, consumed = text.length): void {
    this.held = this.held.slice(consumed);
    if (!text) return;
    this.releasedText += text;
    this.options.release(text);
  }
}
