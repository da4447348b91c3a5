import { LookoutError } from '@lookout/runtime';

/** Typed errors of @lookout/guards. Each has a stable `code` callers can switch on. */
export class GuardError extends LookoutError {}

/** A guard was configured with values it cannot work with. */
export class GuardConfigError extends GuardError {
  constructor(message: string) {
    super('GUARD_CONFIG', message);
  }
}

/** A guard did not answer within its time limit. */
export class GuardTimeoutError extends GuardError {
  constructor(guard: string, timeoutMs: number) {
    super('GUARD_TIMEOUT', `guard "${guard}" did not answer within ${timeoutMs} ms`);
  }
}

/** A text-only Llama Guard variant was handed images. */
export class GuardImageUnsupportedError extends GuardError {
  constructor(variant: string, count: number) {
    super(
      'GUARD_IMAGES_UNSUPPORTED',
      `Llama Guard variant "${variant}" is text-only and cannot check ${count} image(s); use variant "11b-vision" for images`,
    );
  }
}

/** A classifier model's files are missing or malformed. */
export class GuardModelError extends GuardError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('GUARD_MODEL', message, options);
  }
}

/** The check was aborted by the caller's signal. */
export class GuardAbortError extends GuardError {
  constructor(guard: string) {
    super('GUARD_ABORTED', `guard "${guard}" was aborted`);
  }
}
