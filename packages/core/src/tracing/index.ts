export { startSpan, endSpan, traceGuardCheck } from './spans.js';
