/**
 * Tile-grid geometry of MllamaImageProcessor (transformers 4.45.2): which canvas of up to
 * `maxImageTiles` square tiles an image goes on, the size it is resized to on that canvas, and
 * the aspect-ratio id the vision model's tile embeddings are indexed by.
 */

/** A tile grid, rows of tiles (h) by columns of tiles (w). */
export interface TileGrid {
  tilesHigh: number;
  tilesWide: number;
}

/**
 * All grids with tilesHigh * tilesWide <= maxTiles, in HF's order: outer loop over the first
 * factor, inner over the second. For 4 tiles: (1,1) (1,2) (1,3) (1,4) (2,1) (2,2) (3,1) (4,1).
 * HF treats the pair as (height, width) both when picking the canvas and when numbering ids.
 */
export function supportedTileGrids(maxTiles: number): TileGrid[] {
  const grids: TileGrid[] = [];
  for (let a = 1; a <= maxTiles; a++) {
    for (let b = 1; b <= maxTiles; b++) {
      if (a * b <= maxTiles) grids.push({ tilesHigh: a, tilesWide: b });
    }
  }
  return grids;
}

/** 1 + the grid's index among supportedTileGrids(maxTiles); 0 is the model's padding id. */
export function aspectRatioId(grid: TileGrid, maxTiles: number): number {
  const index = supportedTileGrids(maxTiles).findIndex((g) => g.tilesHigh === grid.tilesHigh && g.tilesWide === grid.tilesWide);
  if (index < 0) throw new RangeError(`tile grid ${grid.tilesHigh}x${grid.tilesWide} is not among the grids of at most ${maxTiles} tiles`);
  return index + 1;
}

/** [1]*numTiles + [0]*(maxTiles-numTiles). */
export function aspectRatioMask(numTiles: number, maxTiles: number): number[] {
  return Array.from({ length: maxTiles }, (_, i) => (i < numTiles ? 1 : 0));
}

/**
 * get_optimal_tiled_canvas: for every grid the scale that fits the image without distortion is
 * min(canvasH/h, canvasW/w). The smallest scale >= 1 wins (least upscaling); if every scale is
 * < 1 the largest wins (least downscaling). Among grids with that exact scale, the smallest area
 * wins, the first one listed on a tie (numpy argmin).
 */
export function chooseTileGrid(height: number, width: number, maxTiles: number, tileSize: number): TileGrid {
  const grids = supportedTileGrids(maxTiles);
  const scales = grids.map((g) => {
    const scaleH = (g.tilesHigh * tileSize) / height;
    const scaleW = (g.tilesWide * tileSize) / width;
    return scaleW > scaleH ? scaleH : scaleW;
  });
  const up = scales.filter((s) => s >= 1);
  const selected = up.length > 0 ? Math.min(...up) : Math.max(...scales.filter((s) => s < 1));
  let best: TileGrid | undefined;
  let bestArea = Infinity;
  grids.forEach((g, i) => {
    if (scales[i] !== selected) return;
    const area = g.tilesHigh * tileSize * (g.tilesWide * tileSize);
    if (area < bestArea) {
      best = g;
      bestArea = area;
    }
  });
  return best!;
}

/**
 * get_image_size_fit_to_canvas: each side's target is clip(side, tileSize, canvasSide), so an
 * image is upscaled only when a side is below one tile and downscaled only when it exceeds the
 * canvas. The side with the smaller scale takes its target; the other follows, floored.
 */
export function fitToCanvas(
  height: number,
  width: number,
  canvasHeight: number,
  canvasWidth: number,
  tileSize: number,
): { height: number; width: number } {
  const targetWidth = Math.min(Math.max(width, tileSize), canvasWidth);
  const targetHeight = Math.min(Math.max(height, tileSize), canvasHeight);
  const scaleH = targetHeight / height;
  const scaleW = targetWidth / width;
  if (scaleW < scaleH) {
    // `|| 1`: a sliver image must still keep one row.
    return { width: targetWidth, height: Math.min(Math.floor(height * scaleW) || 1, targetHeight) };
  }
  return { height: targetHeight, width: Math.min(Math.floor(width * scaleH) || 1, targetWidth) };
}

/** Canvas, grid and resized size for an image of the given size. */
export function planCanvas(height: number, width: number, maxTiles: number, tileSize: number) {
  const grid = chooseTileGrid(height, width, maxTiles, tileSize);
  const canvas = { height: grid.tilesHigh * tileSize, width: grid.tilesWide * tileSize };
  const resized = fitToCanvas(height, width, canvas.height, canvas.width, tileSize);
  return { grid, canvas, resized };
}
