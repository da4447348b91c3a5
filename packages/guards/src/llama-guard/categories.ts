import { GuardConfigError } from '../errors.js';

export type LlamaGuardVariant = '11b-vision' | '1b' | '8b';

export const LLAMA_GUARD_VARIANTS: readonly LlamaGuardVariant[] = ['11b-vision', '1b', '8b'];

/** Code → description, in prompt order. Descriptions end with a period, as in Meta's templates. */
export type CategorySet = Record<string, string>;

/** The MLCommons hazard taxonomy as Llama Guard 3 1B and 11B-Vision list it. */
export const LLAMA_GUARD_3_CATEGORIES: Readonly<CategorySet> = Object.freeze({
  S1: 'Violent Crimes.',
  S2: 'Non-Violent Crimes.',
  S3: 'Sex Crimes.',
  S4: 'Child Exploitation.',
  S5: 'Defamation.',
  S6: 'Specialized Advice.',
  S7: 'Privacy.',
  S8: 'Intellectual Property.',
  S9: 'Indiscriminate Weapons.',
  S10: 'Hate.',
  S11: 'Self-Harm.',
  S12: 'Sexual Content.',
  S13: 'Elections.',
});

/** Llama Guard 3 8B adds S14 for tool-using agents. */
export const LLAMA_GUARD_3_8B_CATEGORIES: Readonly<CategorySet> = Object.freeze({
  ...LLAMA_GUARD_3_CATEGORIES,
  S14: 'Code Interpreter Abuse.',
});

export function defaultCategories(variant: LlamaGuardVariant): CategorySet {
  return { ...(variant === '8b' ? LLAMA_GUARD_3_8B_CATEGORIES : LLAMA_GUARD_3_CATEGORIES) };
}

/**
 * The categories a prompt lists: the variant's defaults or a custom set, minus excluded codes.
 * Excluded codes keep the other codes' numbers (S1, S3, … stay as they are), as Meta's template does.
 */
export function resolveCategories(variant: LlamaGuardVariant, custom?: CategorySet, excluded: string[] = []): CategorySet {
  const all = custom ?? defaultCategories(variant);
  const codes = Object.keys(all);
  if (codes.length === 0) throw new GuardConfigError('Llama Guard categories must not be empty');
  for (const code of codes) {
    if (!/^[A-Za-z0-9_-]+$/.test(code)) {
      throw new GuardConfigError(`Llama Guard category code ${JSON.stringify(code)} is invalid; use letters, digits, "_" or "-" (e.g. "S1")`);
    }
    if (typeof all[code] !== 'string' || all[code].trim() === '') {
      throw new GuardConfigError(`Llama Guard category ${code} needs a non-empty description string`);
    }
  }
  const unknown = excluded.filter((c) => !codes.includes(c));
  if (unknown.length) {
    throw new GuardConfigError(`cannot exclude unknown category code(s) ${unknown.join(', ')}; known: ${codes.join(', ')}`);
  }
  const kept: CategorySet = {};
  for (const code of codes) if (!excluded.includes(code)) kept[code] = all[code];
  if (Object.keys(kept).length === 0) throw new GuardConfigError('every Llama Guard category is excluded; keep at least one');
  return kept;
}

/** Parses "S1,S2" or a JSON object/array file content into codes or a category set. */
export function parseCategoryCodes(list: string): string[] {
  return list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}
