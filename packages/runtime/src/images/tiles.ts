import type { ImageProcessorConfig } from './config.js';

/**
 * Per channel, the float32 value each uint8 level becomes, computed as HF does it:
 * rescale `float32(float64(u8) * rescale_factor)`, then normalise in float32
 * `(x - float32(mean)) / float32(std)`. Math.fround after each double operation on float32
 * operands gives exactly the float32 result (double has more than 2*24+2 bits).
 */
export function channelLookupTables(config: ImageProcessorConfig): Float32Array[] {
  return [0, 1, 2].map((c) => {
    const mean = Math.fround(config.imageMean[c]);
    const std = Math.fround(config.imageStd[c]);
    const lut = new Float32Array(256);
    for (let v = 0; v < 256; v++) {
      let x = config.doRescale ? Math.fround(v * config.rescaleFactor) : v;
      if (config.doNormalize) x = Math.fround(Math.fround(x - mean) / std);
      lut[v] = x;
    }
    return lut;
  });
}

/**
 * Pads the resized RGB image (interleaved, width x height) with uint8 0 on the bottom and right
 * up to the grid's canvas, normalises every value, and writes the tiles in row-major tile order
 * as [tile][channel][y][x] into `out` starting at `offset` (tilesHigh*tilesWide*3*S*S floats).
 * The padding therefore holds the normalised value of 0 (-mean/std), as in HF.
 */
export function writeNormalizedTiles(
  rgb: Uint8Array,
  width: number,
  height: number,
  tilesHigh: number,
  tilesWide: number,
  config: ImageProcessorConfig,
  out: Float32Array,
  offset = 0,
  luts: Float32Array[] = channelLookupTables(config),
): void {
  const S = config.tileSize;
  const plane = S * S;
  if (width > tilesWide * S || height > tilesHigh * S) {
    throw new RangeError(`writeNormalizedTiles: ${width}x${height} image does not fit a ${tilesWide}x${tilesHigh} grid of ${S}px tiles`);
  }
  if (out.length < offset + tilesHigh * tilesWide * 3 * plane) throw new RangeError('writeNormalizedTiles: output buffer too small');
  for (let ty = 0; ty < tilesHigh; ty++) {
    for (let tx = 0; tx < tilesWide; tx++) {
      const tileBase = offset + (ty * tilesWide + tx) * 3 * plane;
      for (let c = 0; c < 3; c++) {
        const lut = luts[c];
        const pad = lut[0];
        const planeBase = tileBase + c * plane;
        for (let y = 0; y < S; y++) {
          const sy = ty * S + y;
          const rowBase = planeBase + y * S;
          const x0 = tx * S;
          // Pixels of this tile row that come from the image; the rest is padding.
          const valid = sy < height ? Math.max(0, Math.min(S, width - x0)) : 0;
          let p = (sy * width + x0) * 3 + c;
          for (let x = 0; x < valid; x++, p += 3) out[rowBase + x] = lut[rgb[p]];
          if (valid < S) out.fill(pad, rowBase + valid, rowBase + S);
        }
      }
    }
  }
}
