/**
 * JSON Schemas that exercise constrained decoding, shared by its tests and `pnpm bench constrained`.
 * With random weights the model's own tokens are nearly always refused inside this one: enums,
 * integers, booleans and arrays of them, no free text.
 */
export const STRUCTURE_ONLY_SCHEMA = {
  type: 'object',
  properties: {
    mode: { enum: ['auto', 'manual', 'off'] },
    level: { type: 'integer' },
    flags: { type: 'array', items: { type: 'boolean' } },
    slots: {
      type: 'array',
      items: { type: 'object', properties: { day: { enum: ['mon', 'tue', 'wed', 'thu', 'fri'] }, hour: { type: 'integer' }, on: { type: 'boolean' } }, required: ['day', 'hour', 'on'], additionalProperties: false },
    },
    ratio: { type: ['number', 'null'] },
  },
  required: ['mode', 'level', 'flags', 'slots', 'ratio'],
  additionalProperties: false,
} as const;
