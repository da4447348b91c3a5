export * from './types.js';
export { MemorySessionStore } from './memory.js';
export { FileSessionStore } from './file.js';
export { toStorableMessages } from './storable.js';
