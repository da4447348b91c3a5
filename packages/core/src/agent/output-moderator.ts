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
 * text is dropped and nothing more is released.
 */
export class OutputModerator {
  private held = '';
  private releasedText = '';
  private blocking?: Verdict;

  constructor(private readonly options: OutputModeratorOptions) {}

  push(text: string): void {
    if (!this.blocking) this.held += text;
  }

  /** Enough text is held for a check (or any text at all when unguarded). */
  get due(): boolean {
    return this.options.guarded ? this.held.length >= this.options.chunkChars : this.held.length > 0;
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
    const whole = this.releasedText + this.held;
    if (whole.length === 0) return;
    const decision = await this.options.check(whole);
    if (decision.kind === 'block') return this.block(decision.verdict);
    if (decision.kind === 'redact') {
      // Released text cannot be taken back: a redaction that rewrites it is treated as a block.
      if (!decision.text.startsWith(this.releasedText)) return this.block(decision.verdict);
      this.emit(decision.text.slice(this.releasedText.length));
      return;
    }
    this.emit(this.held);
  }

  private block(verdict: Verdict): void {
    this.blocking = verdict;
    this.held = '';
  }

  private emit(text: string): void {
    this.held = '';
    if (!text) return;
    this.releasedText += text;
    this.options.release(text);
  }
}
