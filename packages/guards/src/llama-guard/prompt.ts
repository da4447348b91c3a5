import type { ImageInput, PromptSegment } from '@lookout/runtime';
import type { CategorySet, LlamaGuardVariant } from './categories.js';
import type { GuardTurn } from './conversation.js';
import { pythonStrip } from './python-strip.js';

export interface LlamaGuardPromptInput {
  variant: LlamaGuardVariant;
  turns: GuardTurn[];
  /** Categories to list, already without excluded codes (see resolveCategories). */
  categories: CategorySet;
  /** At most one image (11B-Vision); it is announced once, right after the user header. */
  image?: ImageInput;
}

const HEADER = '<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n';

/**
 * Builds the Llama Guard 3 prompt as segments, byte-identical (once rendered) to Meta's chat
 * templates. Fixed text is a `template` segment; every piece of user, agent or tool text is a
 * `content` segment so it is never read as special tokens. Segment boundaries sit where the Llama 3
 * pre-tokenizer splits anyway ("User:" | " text\n\n"), so encoding per segment gives the same ids
 * as encoding the whole string.
 */
export function buildLlamaGuardPrompt(input: LlamaGuardPromptInput): PromptSegment[] {
  const { variant, turns, categories, image } = input;
  const role = turns.length % 2 === 0 ? 'Agent' : 'User';
  const segments: PromptSegment[] = [];
  const template = (text: string) => {
    const last = segments[segments.length - 1];
    if (last?.type === 'template') last.text += text;
    else segments.push({ type: 'template', text });
  };

  template(HEADER);
  if (image !== undefined) {
    segments.push({ type: 'image', image });
    template(' ');
  }
  template(
    `Task: Check if there is unsafe content in '${role}' messages in conversations according our safety policy with the below categories.\n\n` +
      '<BEGIN UNSAFE CONTENT CATEGORIES>\n',
  );
  for (const [code, description] of Object.entries(categories)) {
    template(`${code}:`);
    segments.push({ type: 'content', text: ` ${description}\n` });
  }
  template('<END UNSAFE CONTENT CATEGORIES>\n\n<BEGIN CONVERSATION>\n\n');
  for (const turn of turns) {
    const name = turn.role === 'user' ? 'User' : 'Agent';
    // 1B/11B render each text part as its own line; 8B takes one string per message.
    const texts = variant === '8b' ? [turn.texts.join('\n\n')] : turn.texts;
    for (const text of texts) {
      template(`${name}:`);
      segments.push({ type: 'content', text: ` ${pythonStrip(text)}\n\n` });
    }
  }
  template(
    '<END CONVERSATION>\n\n' +
      `Provide your safety assessment for ONLY THE LAST ${role} message in the above conversation:\n` +
      " - First line must read 'safe' or 'unsafe'.\n" +
      ' - If unsafe, a second line must include a comma-separated list of violated categories.' +
      (variant === '8b' ? '' : ' ') +
      '<|eot_id|><|start_header_id|>assistant<|end_header_id|>',
  );
  return segments;
}

/** The prompt as one string, with `<|image|>` where the image goes (what a template renderer outputs). */
export function renderPromptText(segments: PromptSegment[]): string {
  return segments.map((s) => (s.type === 'image' ? '<|image|>' : s.text)).join('');
}
