import { LookoutError } from '@lookout/tools/errors';

/**
 * Typed errors of constrained decoding. `code` is stable: CONSTRAINT_UNSUPPORTED_SCHEMA (a JSON
 * Schema keyword or form outside the supported subset; `keyword` and `path` name it),
 * CONSTRAINT_INVALID (a constraint that cannot be built: a required name missing from properties,
 * a forced tool that was not offered, ...), CONSTRAINT_UNSUPPORTED_TOKENIZER (the model's
 * tokenizer cannot tell the bytes of its tokens), CONSTRAINT_VIOLATED (a token outside the mask
 * was fed to the automaton; a bug, never the caller's input).
 */
export type ConstraintErrorCode = 'CONSTRAINT_UNSUPPORTED_SCHEMA' | 'CONSTRAINT_INVALID' | 'CONSTRAINT_UNSUPPORTED_TOKENIZER' | 'CONSTRAINT_VIOLATED';

export class ConstraintError extends LookoutError<ConstraintErrorCode> {}

/** The schema uses something outside the supported subset (docs/structured-output.md). */
export class UnsupportedSchemaError extends ConstraintError {
  constructor(
    readonly keyword: string,
    /** JSON pointer of the schema node that holds it, e.g. "#/properties/address". */
    readonly path: string,
    detail: string,
  ) {
    super('CONSTRAINT_UNSUPPORTED_SCHEMA', `Unsupported JSON Schema at ${path}: "${keyword}" ${detail}. Supported: type object (properties, required, additionalProperties false), array (items), string, number, integer, boolean, null, enum, const, type lists and anyOf whose branches start with different characters; annotations (title, description, default, examples, $schema) are ignored.`);
  }
}
