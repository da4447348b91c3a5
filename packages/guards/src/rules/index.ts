export { PiiGuard, type PiiGuardOptions } from './pii-guard.js';
export { detectPii, ALL_PII_KINDS, type PiiKind, type PiiMatch } from './pii/detectors.js';
export { luhnValid, ibanValid, ssnValid } from './pii/checksums.js';
export { PatternGuard, type PatternGuardOptions } from './pattern-guard.js';
export { SizeLimitGuard, type SizeLimits } from './size-limit-guard.js';
