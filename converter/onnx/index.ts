export { bfloat16ToFloat32, float16BitsToFloat32, float32ToFloat16Bits, float32ToHalf, halfToFloat32 } from "./float16.ts";
export { type AttrValue, type Dim, float, GraphBuilder, GraphError, type StreamedInitializer, type TensorSource } from "./graph.ts";
export { ELEMENT_TYPES, type ElementType, type FloatType } from "./proto.ts";
export { type ExternalWeights, PROTOBUF_LIMIT, type WriteModelOptions, type WrittenModel, writeModel } from "./writer.ts";
