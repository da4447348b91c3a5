export { PiiGuard, type PiiGuardOptions } from './piiGuard.js';
export { detectPii, ALL_PII_KINDS, type PiiKind, type PiiMatch } from './pii/detectors.js';
export { luhnValid, ibanValid, ssnValid } from './pii/checksums.js';
export { PatternGuard, type PatternGuardOptions } from './patternGuard.js';
export { SizeLimitGuard, type SizeLimits } from './sizeLimitGuard.js';
