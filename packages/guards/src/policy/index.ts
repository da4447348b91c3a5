export { GuardPolicy, DEFAULT_REFUSAL, STAGES, type GuardPolicyOptions, type StageAction, type PolicyDecision, type PolicyOutcome } from './guardPolicy.js';
export { VerdictCache, cachedGuard, type VerdictCacheOptions } from './cachedGuard.js';
export { LruCache } from './lruCache.js';
export { subjectHash } from './contentHash.js';
