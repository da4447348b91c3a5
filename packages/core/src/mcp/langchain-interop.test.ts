import { describe, expect, it } from 'vitest';
import { defineJsonSchemaTool } from '@lookout/tools';
import { toLangChainTool } from '../langchain/index.js';

describe('JSON Schema tools in LangChain', () => {
  it('keep their schema and their validation', async () => {
    const tool = defineJsonSchemaTool({
      name: 'get_sum',
      description: 'Adds two numbers',
      parameters: { type: 'object', properties: { a: { type: 'number' }, b: { type: 'number' } }, required: ['a', 'b'] },
      execute: ({ a, b }) => String((a as number) + (b as number)),
    });
    const lc = toLangChainTool(tool);
    expect((lc.schema as unknown as { properties: object }).properties).toHaveProperty('a');
    expect(await lc.invoke({ a: 2, b: 40 })).toBe('42');
  });
});
