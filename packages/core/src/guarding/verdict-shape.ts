import { LookoutError } from '@lookout/tools';

/** Thrown inside the loop's guard wrapper when a guard answered something that is not a Verdict. */
export class NotAVerdictError extends LookoutError<'guard-not-a-verdict'> {
  constructor(guard: string, problem: string) {
    super('guard-not-a-verdict', `Guard "${guard}" returned a value that is not a Verdict (${problem}).`);
  }
}

/**
 * What is wrong with a guard's answer, or undefined when it is a usable Verdict. Describes the
 * shape only and never quotes the value, which may echo the checked text.
 */
export function verdictProblem(value: unknown): string | undefined {
  if (!value || typeof value !== 'object') return `got ${value === null ? 'null' : typeof value}`;
  const v = value as Record<string, unknown>;
  if (typeof v.safe !== 'boolean') return '"safe" must be a boolean';
  if (!Array.isArray(v.categories) || !v.categories.every((c) => typeof c === 'string')) return '"categories" must be an array of strings';
  if (v.score !== undefined && v.score !== null && !(typeof v.score === 'number' && v.score >= 0 && v.score <= 1)) {
    return '"score" must be a number in [0, 1]';
  }
  if (v.redactedText !== undefined && typeof v.redactedText !== 'string') return '"redactedText" must be a string';
  if (v.redactions !== undefined && !Array.isArray(v.redactions)) return '"redactions" must be an array';
  return undefined;
}
