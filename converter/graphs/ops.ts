// Layer building blocks shared by the towers, the aligner and the decoder.
import type { Checkpoint } from "../checkpoint/index.ts";
import { ELEMENT_TYPES, type FloatType, float, GraphBuilder, GraphError } from "../onnx/index.ts";

/** A graph under construction, the checkpoint feeding its weights, and the float type it computes in. */
export class Layers {
  readonly g: GraphBuilder;
  readonly act: FloatType;
  private readonly checkpoint: Checkpoint;

  constructor(name: string, checkpoint: Checkpoint, act: FloatType) {
    this.g = new GraphBuilder(name);
    this.checkpoint = checkpoint;
    this.act = act;
  }

  /**
   * A checkpoint tensor as an initializer named like the tensor (registered once, shared by every use).
   * `dims` may reshape it (same element count; e.g. a 1x1 conv kernel used as a matrix).
   */
  weight(name: string, options: { dims?: number[]; type?: FloatType } = {}): string {
    if (this.g.hasValue(name)) return name;
    const entry = this.checkpoint.entry(name);
    const dims = options.dims ?? entry.shape;
    if (dims.reduce((a, b) => a * b, 1) !== entry.shape.reduce((a, b) => a * b, 1)) {
      throw new GraphError(`weight ${name}: cannot view [${entry.shape}] as [${dims}]`);
    }
    const type = options.type ?? this.act;
    return this.g.weight(name, type, dims, this.checkpoint.source(name, type));
  }

  /** A float constant in the activation type. */
  scalar(value: number): string {
    return this.g.scalar(this.act, value);
  }

  cast(x: string, to: FloatType): string {
    return this.g.op("Cast", [x], { to: ELEMENT_TYPES[to].code });
  }

  /** Runs `body` in float32 when the graph computes in float16 (norms, softmax), casting around it. */
  inFloat32(x: string, body: (x32: string) => string): string {
    if (this.act === "float32") return body(x);
    return this.cast(body(this.cast(x, "float32")), this.act);
  }

  /** y = x W^T + b on a [rows, in] activation, with W stored [out, in] as in the checkpoint. */
  linear(x: string, name: string, options: { bias?: boolean; dims?: number[] } = {}): string {
    const w = this.weight(`${name}.weight`, options.dims ? { dims: options.dims } : {});
    const inputs = options.bias === false ? [x, w] : [x, w, this.weight(`${name}.bias`)];
    return this.g.op("Gemm", inputs, { transB: 1 });
  }

  /** LayerNorm over the last axis, computed in float32. */
  layerNorm(x: string, name: string, eps: number): string {
    const scale = this.weight(`${name}.weight`, { type: "float32" });
    const bias = this.weight(`${name}.bias`, { type: "float32" });
    return this.inFloat32(x, (x32) => this.g.op("LayerNormalization", [x32, scale, bias], { axis: -1, epsilon: float(eps) }));
  }

  /** Exact (erf) GELU: 0.5 x (1 + erf(x / sqrt 2)), the form ORT fuses into its Gelu kernel. */
  gelu(x: string): string {
    const g = this.g;
    const erf = g.op("Erf", [g.op("Div", [x, this.scalar(Math.SQRT2)])]);
    return g.op("Mul", [g.op("Mul", [x, g.op("Add", [erf, this.scalar(1)])]), this.scalar(0.5)]);
  }

  /** Softmax over the last axis in float32; `bias` (float32) is added first when given. */
  softmax(x: string, bias?: string): string {
    return this.inFloat32(x, (x32) => this.g.op("Softmax", [bias ? this.g.op("Add", [x32, bias]) : x32], { axis: -1 }));
  }

  reshape(x: string, shape: number[] | string): string {
    return this.g.op("Reshape", [x, typeof shape === "string" ? shape : this.g.int64s(shape)]);
  }

  transpose(x: string, perm: number[]): string {
    return this.g.op("Transpose", [x], { perm });
  }

  /** Index `index` of axis `axis` (the axis is removed). */
  take(x: string, index: number, axis: number): string {
    return this.g.op("Gather", [x, this.g.int64s([index], [])], { axis });
  }

  slice(x: string, starts: number[], ends: number[], axes: number[]): string {
    return this.g.op("Slice", [x, this.g.int64s(starts), this.g.int64s(ends), this.g.int64s(axes)]);
  }

  unsqueeze(x: string, axes: number[]): string {
    return this.g.op("Unsqueeze", [x, this.g.int64s(axes)]);
  }

  /** `u8` pixels [N,3,S,S] -> float32 (u8 / 255 - mean) / std, as the official rescale and Normalize. */
  normalizePixels(u8: string, mean: readonly number[], std: readonly number[]): string {
    const g = this.g;
    const unit = g.op("Div", [this.cast(u8, "float32"), g.scalar("float32", 255)]);
    return this.normalize(unit, mean, std);
  }

  normalize(unit: string, mean: readonly number[], std: readonly number[]): string {
    const g = this.g;
    const centered = g.op("Sub", [unit, g.constant("float32", [1, 3, 1, 1], Float32Array.from(mean))]);
    return g.op("Div", [centered, g.constant("float32", [1, 3, 1, 1], Float32Array.from(std))]);
  }
}

/**
 * The largest intermediate tensor a tower graph builds for one image: WebGPU binds at most 128 MiB per storage
 * buffer by default and computes a larger tensor silently wrong (converter/README.md "Tensor size on accelerators").
 */
export const MAX_TENSOR_BYTES = 64 * 2 ** 20;

/** The float type a model set computes in. */
export const floatType = (dtype: "fp32" | "fp16"): FloatType => (dtype === "fp32" ? "float32" : "float16");
