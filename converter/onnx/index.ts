export { GraphBuilder, GraphError, float, type AttrValue, type Dim, type StreamedInitializer, type TensorSource } from "./graph.ts";
export { bfloat16ToFloat32, float16BitsToFloat32, float32ToFloat16Bits, float32ToHalf, halfToFloat32 } from "./float16.ts";
export { ELEMENT_TYPES, type ElementType, type FloatType } from "./proto.ts";
export { PROTOBUF_LIMIT, writeModel, type WriteModelOptions, type WrittenModel } from "./writer.ts";
