import { GenerationError } from '../model/errors.js';

/** A sampling setting is out of range (e.g. topP = 2). */
export class InvalidSamplingError extends GenerationError {
  constructor(message: string) {
    super('INVALID_SAMPLING', message);
  }
}
