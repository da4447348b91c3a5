import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import formatsPlugin from 'ajv-formats';
import { z } from 'zod';
import { assertToolName } from './define.js';
import { ToolDefinitionError } from './errors.js';
import { formatIssuePath } from './issues.js';
import type { ArgumentCheck, JsonSchemaToolDefinition, Tool } from './types.js';

// ajv-formats is CommonJS; under NodeNext its default export arrives as the module object.
type FormatsPlugin = (ajv: Ajv | Ajv2020) => unknown;
const addFormats: FormatsPlugin =
  (formatsPlugin as unknown as { default?: FormatsPlugin }).default ?? (formatsPlugin as unknown as FormatsPlugin);

const OLDER_DRAFTS = /json-schema\.org\/draft-0[4-7]\/schema/;
let draft2020: Ajv2020 | undefined;
let draft07: Ajv | undefined;

/** One validator per dialect: a schema naming draft-04..07 gets draft-07 rules, anything else 2020-12. */
function validatorFor(schema: Record<string, unknown>): Ajv | Ajv2020 {
  const options = { allErrors: true, strict: false, logger: false as const, validateSchema: false };
  if (typeof schema.$schema === 'string' && OLDER_DRAFTS.test(schema.$schema)) {
    if (!draft07) {
      draft07 = new Ajv(options);
      addFormats(draft07);
    }
    return draft07;
  }
  if (!draft2020) {
    draft2020 = new Ajv2020(options);
    addFormats(draft2020);
  }
  return draft2020;
}

/**
 * Compiles a JSON Schema for tool arguments into a check whose issues read like the zod path's
 * (`items[0].sku: expected string, received number`). Throws ToolDefinitionError
 * (`tool-invalid-schema`) when the schema cannot be compiled.
 */
export function compileArgumentsSchema(name: string, schema: Record<string, unknown>): (args: unknown) => ArgumentCheck {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) {
    throw new ToolDefinitionError('tool-invalid-schema', `The input schema of tool "${name}" is not accepted: expected a JSON Schema object.`);
  }
  const { $schema: _dialect, $id: _id, ...body } = schema;
  let validate: ValidateFunction;
  try {
    validate = validatorFor(schema).compile(body);
  } catch (error) {
    throw new ToolDefinitionError(
      'tool-invalid-schema',
      `The input schema of tool "${name}" cannot be compiled (${(error as Error).message}); a JSON Schema of draft 2020-12 or draft-07 is accepted.`,
      { cause: error },
    );
  }
  return (args) => {
    if (validate(args)) return { success: true, data: args };
    return { success: false, issues: (validate.errors ?? []).map((e) => describeIssue(e, args)) };
  };
}

/** Declares a tool whose arguments are described and validated by a JSON Schema (ajv). */
export function defineJsonSchemaTool<C = any>(definition: JsonSchemaToolDefinition<C>): Tool<z.ZodObject, z.ZodType, C> {
  assertToolName(definition.name);
  const checkArguments = compileArgumentsSchema(definition.name, definition.parameters);
  const { $schema: _drop, ...parameters } = definition.parameters;
  const { parameters: _schema, ...rest } = definition;
  return Object.freeze({
    ...rest,
    // Validation is `checkArguments`; this accepts any object so code reading `input` still works.
    input: z.looseObject({}),
    execute: definition.execute as Tool<z.ZodObject, z.ZodType, C>['execute'],
    spec: { name: definition.name, description: definition.description, parameters },
    checkArguments,
  }) as Tool<z.ZodObject, z.ZodType, C>;
}

/** `/items/0/sku` → ['items', 0, 'sku'], numbers only where the value there is an array. */
function pointerToPath(pointer: string, data: unknown): PropertyKey[] {
  if (pointer === '') return [];
  const path: PropertyKey[] = [];
  let here: unknown = data;
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(here) && /^\d+$/.test(key)) {
      path.push(Number(key));
      here = here[Number(key)];
    } else {
      path.push(key);
      here = typeof here === 'object' && here !== null ? (here as Record<string, unknown>)[key] : undefined;
    }
  }
  return path;
}

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function describeIssue(error: ErrorObject, args: unknown): string {
  const path = pointerToPath(error.instancePath, args);
  const params = error.params as Record<string, unknown>;
  let message: string;
  switch (error.keyword) {
    case 'required':
      path.push(String(params.missingProperty));
      message = 'required property is missing';
      break;
    case 'additionalProperties':
      path.push(String(params.additionalProperty));
      message = 'unrecognized property; the schema does not accept it';
      break;
    case 'type': {
      let value: unknown = args;
      for (const key of path) value = typeof value === 'object' && value !== null ? (value as any)[key as any] : undefined;
      const expected = Array.isArray(params.type) ? params.type.join(' or ') : String(params.type);
      message = `expected ${expected}, received ${typeOf(value)}`;
      break;
    }
    case 'enum':
      message = `expected one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
      break;
    case 'const':
      message = `expected ${JSON.stringify(params.allowedValue)}`;
      break;
    default:
      message = error.message ?? `fails "${error.keyword}"`;
  }
  return `${formatIssuePath(path)}: ${message}`;
}
