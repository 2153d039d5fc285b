// The converter's door: official DeepSeek-VL checkpoint -> ONNX model set (DESIGN §4), and test fixtures.
export { Checkpoint, CheckpointError, expectedTensors, type ModelSpec, parseConfig, readSafetensorsHeader } from "./checkpoint/index.ts";
export { ConvertError, type ConvertOptions, type ConvertProgress, convertCheckpoint, revisionOf, TOKENIZER_FILES } from "./convert.ts";
export { type DefaultModelOptions, ensureDefaultModel } from "./default-model.ts";
export { type FixtureKind, type FixtureOptions, type FixtureSize, writeFixture } from "./fixture/index.ts";
export { buildGraph, type DecoderOptions, type GraphOptions } from "./graphs/index.ts";
export { GraphBuilder, writeModel } from "./onnx/index.ts";
