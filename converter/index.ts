// The converter's door: official DeepSeek-VL checkpoint -> ONNX model set (DESIGN §4), and test fixtures.
export { Checkpoint, CheckpointError, expectedTensors, parseConfig, readSafetensorsHeader, type ModelSpec } from "./checkpoint/index.ts";
export { ConvertError, TOKENIZER_FILES, convertCheckpoint, revisionOf, type ConvertOptions, type ConvertProgress } from "./convert.ts";
export { ensureDefaultModel, type DefaultModelOptions } from "./default-model.ts";
export { writeFixture, type FixtureKind, type FixtureOptions, type FixtureSize } from "./fixture/index.ts";
export { buildGraph, type DecoderOptions, type GraphOptions } from "./graphs/index.ts";
export { GraphBuilder, writeModel } from "./onnx/index.ts";
