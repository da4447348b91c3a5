import type { ResponseFormat } from '@lookout/runtime';
import { formatIssues, z } from '@lookout/tools';

/** The result of checking a final answer against the run's output schema. */
export type OutputCheck = { ok: true; value: unknown } | { ok: false; issues: string };

/**
 * Parses the answer as JSON (a fenced ```json block is accepted, as models write them) and
 * validates it; the issues name the paths, as tool-argument errors do.
 */
export function checkOutput(text: string, schema: z.ZodType): OutputCheck {
  const fenced = /^\s*```(?:json)?\s*\n([\s\S]*?)\n?```\s*$/.exec(text);
  let value: unknown;
  try {
    value = JSON.parse(fenced ? fenced[1]! : text);
  } catch (error) {
    return { ok: false, issues: `the answer is not JSON (${(error as Error).message})` };
  }
  const parsed = schema.safeParse(value);
  return parsed.success ? { ok: true, value: parsed.data } : { ok: false, issues: formatIssues(parsed.error.issues).join('; ') };
}

/**
 * Keywords a token mask does not enforce (bounds, lengths, patterns, formats): they are left out
 * of the decode-time constraint and checked by the schema after the answer, which re-asks.
 */
const CHECKED_AFTER = new Set([
  'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf',
  'minLength', 'maxLength', 'pattern', 'format', 'contentEncoding', 'contentMediaType',
  'minItems', 'maxItems', 'uniqueItems', 'minProperties', 'maxProperties',
]);

function withoutCheckedAfter(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withoutCheckedAfter);
  if (!node || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (CHECKED_AFTER.has(key)) continue;
    // Under "properties" the keys are property names, not keywords.
    out[key] = key === 'properties' && value && typeof value === 'object' ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withoutCheckedAfter(v)])) : withoutCheckedAfter(value);
  }
  return out;
}

/** The schema as response_format, so a model that constrains decoding can only write its shape. */
export function outputFormat(schema: z.ZodType): ResponseFormat {
  const { $schema: _drop, ...json } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return { type: 'json_schema', name: 'output', schema: withoutCheckedAfter(json) as Record<string, unknown>, strict: true };
}

/** What the model is told when its answer failed the schema. */
export function outputCorrection(issues: string, schema: z.ZodType): string {
  const { $schema: _drop, ...format } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return `Your answer does not match the required output: ${issues}. Answer again with only a JSON value matching this JSON Schema, and nothing else:\n${JSON.stringify(format)}`;
}
