import type { ImageInput, PromptSegment } from '../model/types.js';

/** Collects prompt segments, merging neighbours of the same kind so the output stays small. */
export class SegmentBuilder {
  private readonly segments: PromptSegment[] = [];

  template(text: string): this {
    return this.text('template', text);
  }

  content(text: string): this {
    return this.text('content', text);
  }

  image(image: ImageInput): this {
    this.segments.push({ type: 'image', image });
    return this;
  }

  build(): PromptSegment[] {
    return this.segments.map((s) => ({ ...s }));
  }

  private text(type: 'template' | 'content', text: string): this {
    if (!text) return this;
    const last = this.segments.at(-1);
    if (last && last.type === type) last.text += text;
    else this.segments.push({ type, text });
    return this;
  }
}
