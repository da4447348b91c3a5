/**
 * The contract between the ONNX execution layer (onnx/) and the generation loop (generation/).
 * An engine runs the model's forward pass; generation owns sampling, stopping and streaming.
 */

/** What the image processor produces for a prompt, in the layout the vision graph takes. */
export interface VisionInputs {
  /** [1, numImages, maxTiles, 3, tileSize, tileSize], tiles past an image's tile count are 0. */
  pixelValues: Float32Array;
  numImages: number;
  maxTiles: number;
  tileSize: number;
  /** One per image: 1 + index of the tile grid among the supported aspect ratios. */
  aspectRatioIds: number[];
  /** One row of maxTiles per image: 1 for a real tile, 0 for padding. */
  aspectRatioMask: number[][];
  /** Dense [T][numImages][maxTiles] 0/1 mask of which tiles each prompt token may attend to. */
  crossAttentionMask: number[][][];
}

export interface ForwardEngine {
  readonly vocabSize: number;
  /**
   * Most positions (prompt plus generated tokens) one session can hold, when the engine has a
   * limit (the model's max_position_embeddings; the rotary tables are built that long).
   */
  readonly contextLength?: number;
  /** Runs the whole prompt once (vision encoder first when images are given). */
  prefill(inputIds: number[], vision?: VisionInputs, options?: { signal?: AbortSignal }): Promise<DecodeSession>;
  dispose(): Promise<void>;
}

export interface DecodeSession {
  /** Logits for the next token after everything fed so far (length vocabSize). */
  readonly logits: Float32Array;
  /** Appends one token (KV cache and cross-attention K/V reused) and returns the new logits. */
  step(tokenId: number): Promise<Float32Array>;
  /** Bytes copied between JS and onnxruntime by the last prefill/step, inputs plus outputs. */
  readonly lastTransferBytes: number;
  /** Prompt positions taken from a cached prefix instead of being computed (0 or absent: none). */
  readonly reusedPositions?: number;
  dispose(): void;
}
