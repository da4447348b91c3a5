export { GuardPolicy, DEFAULT_REFUSAL, STAGES, type GuardPolicyOptions, type StageAction, type PolicyDecision, type PolicyOutcome } from './guard-policy.js';
export { VerdictCache, cachedGuard, type VerdictCacheOptions } from './cached-guard.js';
export { LruCache } from './lru-cache.js';
export { subjectHash } from './content-hash.js';
