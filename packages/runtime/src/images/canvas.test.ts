import { describe, expect, it } from 'vitest';
import { aspectRatioId, aspectRatioMask, chooseTileGrid, fitToCanvas, planCanvas, supportedTileGrids } from './canvas.js';

describe('tile canvas (get_optimal_tiled_canvas, get_image_size_fit_to_canvas)', () => {
  it('lists the 8 grids of at most 4 tiles in HF order, ids 1..8', () => {
    expect(supportedTileGrids(4).map((g) => [g.tilesHigh, g.tilesWide])).toEqual([
      [1, 1], [1, 2], [1, 3], [1, 4], [2, 1], [2, 2], [3, 1], [4, 1],
    ]);
    expect(aspectRatioId({ tilesHigh: 2, tilesWide: 2 }, 4)).toBe(6);
    expect(aspectRatioId({ tilesHigh: 3, tilesWide: 1 }, 4)).toBe(7);
    expect(() => aspectRatioId({ tilesHigh: 2, tilesWide: 3 }, 4)).toThrow(RangeError);
    expect(aspectRatioMask(3, 4)).toEqual([1, 1, 1, 0]);
  });

  // Canvas and resized sizes of the reference table (shared/reference/README.md), including the
  // two images whose files are not shipped.
  it.each([
    [200, 300, [560, 560], [373, 560], 1],
    [400, 1200, [560, 1680], [400, 1200], 3],
    [1200, 400, [1680, 560], [1200, 400], 7],
    [1000, 1500, [1120, 1120], [746, 1120], 6],
    [50, 50, [560, 560], [560, 560], 1],
    [560, 560, [560, 560], [560, 560], 1],
  ])('h=%i w=%i -> canvas %j, resized %j, id %i', (h, w, canvas, resized, id) => {
    const plan = planCanvas(h, w, 4, 560);
    expect([plan.canvas.height, plan.canvas.width]).toEqual(canvas);
    expect([plan.resized.height, plan.resized.width]).toEqual(resized);
    expect(aspectRatioId(plan.grid, 4)).toBe(id);
  });

  it('picks the least downscaling grid for very wide and very tall images', () => {
    expect(chooseTileGrid(100, 4000, 4, 560)).toEqual({ tilesHigh: 1, tilesWide: 4 });
    expect(fitToCanvas(100, 4000, 560, 2240, 560)).toEqual({ height: 56, width: 2240 });
    expect(chooseTileGrid(4000, 100, 4, 560)).toEqual({ tilesHigh: 4, tilesWide: 1 });
    expect(fitToCanvas(4000, 100, 2240, 560, 560)).toEqual({ height: 2240, width: 56 });
  });

  it('keeps at least one row for a sliver image', () => {
    expect(fitToCanvas(1, 100000, 560, 2240, 560)).toEqual({ height: 1, width: 2240 });
  });

  it('prefers the smallest area among grids with the same scale', () => {
    // A 560x560 image fits every grid at scale 1; the 1x1 grid has the least padding.
    expect(chooseTileGrid(560, 560, 4, 560)).toEqual({ tilesHigh: 1, tilesWide: 1 });
    // 560 high, 600 wide: (1,2) gives scale 1 exactly, (2,2) too; (1,2) is smaller.
    expect(chooseTileGrid(560, 600, 4, 560)).toEqual({ tilesHigh: 1, tilesWide: 2 });
  });
});
