// Checks the customer's photos before the server answers 200: format from the bytes, size from
// the header, then a full decode within limits, with the runtime's image intake. A photo that
// fails gets a 4xx with a message for the customer naming what is accepted; the decoder's own
// message (which can name files or libraries) is never shown.
import { decodeImage, ImageError, resolveLimits, type ContentPart } from '@lookout/runtime';
import { HttpError } from './http.js';

export interface PhotoLimits {
  maxBytes: number;
  maxPixels: number;
}

/** Up to 5 MB and 4096 × 4096 pixels: the model sees at most four 560-pixel tiles anyway. */
export const DEFAULT_PHOTO_LIMITS: PhotoLimits = { maxBytes: 5 * 1024 * 1024, maxPixels: 4096 * 4096 };

export function acceptedPhotos(limits: PhotoLimits): string {
  const mb = Math.round((limits.maxBytes / (1024 * 1024)) * 10) / 10;
  const side = Math.floor(Math.sqrt(limits.maxPixels));
  return `PNG, JPEG, WebP or GIF photos up to ${mb} MB and ${(limits.maxPixels / 1e6).toFixed(1)} megapixels (e.g. ${side} × ${side})`;
}

/** The customer-facing refusal of one photo. */
export class PhotoError extends HttpError {}

function refusal(index: number, error: unknown, limits: PhotoLimits): PhotoError {
  const which = `Photo ${index + 1}`;
  const accepted = `We accept ${acceptedPhotos(limits)}.`;
  const code = error instanceof ImageError ? error.code : 'IMAGE_CORRUPT';
  switch (code) {
    case 'IMAGE_UNSUPPORTED_FORMAT':
      return new PhotoError(415, 'unsupported-image', `${which} is not a PNG, JPEG, WebP or GIF image. ${accepted}`);
    case 'IMAGE_TOO_MANY_BYTES':
      return new PhotoError(413, 'image-too-large', `${which} is larger than ${Math.round(limits.maxBytes / (1024 * 1024))} MB. ${accepted}`);
    case 'IMAGE_TOO_MANY_PIXELS':
      return new PhotoError(413, 'image-too-large', `${which} has too many pixels. ${accepted}`);
    default:
      return new PhotoError(400, 'unreadable-image', `${which} could not be read: the file is damaged or incomplete. ${accepted}`);
  }
}

/**
 * Decodes every photo of a message within the limits (one after another, so a message holds at
 * most one decoded photo in memory) and sets each part's media type from the bytes. Throws a
 * PhotoError for the first photo that fails.
 */
export async function checkPhotos(parts: ContentPart[], limits: PhotoLimits = DEFAULT_PHOTO_LIMITS): Promise<void> {
  const intake = resolveLimits({ maxBytes: limits.maxBytes, maxPixels: limits.maxPixels });
  let index = 0;
  for (const part of parts) {
    if (part.type !== 'image') continue;
    const bytes = part.image;
    try {
      if (!(bytes instanceof Uint8Array)) throw new ImageError('IMAGE_INVALID_INPUT', 'not bytes');
      if (bytes.length > intake.maxBytes) throw new ImageError('IMAGE_TOO_MANY_BYTES', 'too many bytes');
      const decoded = await decodeImage(bytes, intake);
      part.mediaType = `image/${decoded.format}`;
    } catch (error) {
      throw refusal(index, error, limits);
    }
    index++;
  }
}
