export { Agent } from './agent.js';
export * from './types.js';
export * from './events.js';
