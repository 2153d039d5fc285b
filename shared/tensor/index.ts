export { type DecodedTensor, type DecodeOptions, decodeTensor, encodeTensor } from "./codec.ts";
export {
  bfloat16BitsToFloat32,
  bfloat16ToFloat32,
  float16BitsToFloat32,
  float16ToFloat32,
  float32ToBfloat16,
  float32ToBfloat16Bits,
  float32ToFloat16,
  float32ToFloat16Bits,
} from "./float.ts";
export {
  DEFAULT_TENSOR_LIMITS,
  type ShapePattern,
  type TensorDataType,
  TensorError,
  type TensorErrorCode,
  type TensorLimits,
  type TensorValues,
  type TensorValuesByDtype,
} from "./validate.ts";
