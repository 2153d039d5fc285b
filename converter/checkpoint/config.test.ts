import { describe, expect, it } from "vitest";
import { official7bConfig, official13bConfig, officialJson } from "../fixture/config.ts";
import { parseConfig } from "./config.ts";
import { expectedTensors } from "./tensors.ts";

const parse = (config: unknown) => parseConfig(officialJson(config));
const params = (config: unknown) =>
  [...expectedTensors(parse(config)).values()].reduce((sum, shape) => sum + shape.reduce((a, b) => a * b, 1), 0);

describe("parseConfig on the official configs", () => {
  it("reads the 7B: hybrid towers and LlamaConfig defaults for absent keys (reference §1, §6)", () => {
    const spec = parse(official7bConfig());
    expect(spec.kind).toBe("hybrid");
    expect(spec.llm).toEqual({
      hiddenSize: 4096,
      numLayers: 30,
      numHeads: 32,
      numKeyValueHeads: 32,
      headDim: 128,
      intermediateSize: 11008,
      vocabSize: 102400,
      maxPositionEmbeddings: 16384,
      ropeTheta: 10000,
      rmsNormEps: 1e-6,
    });
    expect(spec.sam).toMatchObject({
      width: 768,
      depth: 12,
      heads: 12,
      globalIndexes: [2, 5, 8, 11],
      windowSize: 14,
      neckDim: 256,
      downsampleDims: [512, 1024],
    });
    expect(spec.siglip).toMatchObject({
      inputSize: 1024,
      imageSize: 384,
      width: 1024,
      depth: 24,
      heads: 16,
      mlpDim: 4096,
      pixelMean: [0.5, 0.5, 0.5],
    });
    expect(spec.aligner).toEqual({ projectorType: "low_high_hybrid_split_mlp_gelu", inputDim: 1024, nEmbed: 4096 });
    expect(spec.imageTokens).toBe(576);
  });

  it("reads the 1.3B: SigLIP only, explicit language keys", () => {
    const spec = parse(official13bConfig());
    expect(spec.kind).toBe("siglip");
    expect(spec.sam).toBeUndefined();
    expect(spec.siglip).toMatchObject({ inputSize: 384, imageSize: 384, width: 1024, depth: 24 });
    expect(spec.llm).toMatchObject({
      hiddenSize: 2048,
      numLayers: 24,
      numHeads: 16,
      numKeyValueHeads: 16,
      headDim: 128,
      intermediateSize: 5632,
    });
    expect(spec.aligner).toEqual({ projectorType: "mlp_gelu", inputDim: 1024, nEmbed: 2048 });
  });

  it("expects exactly the official parameter counts (reference §0: 7,343,990,017 and 1,975,235,584)", () => {
    expect(params(official7bConfig())).toBe(7_343_990_017);
    expect(params(official13bConfig())).toBe(1_975_235_584);
  });

  it("expects the 186 SAM tensors with the official shapes (reference §10.1)", () => {
    const table = expectedTensors(parse(official7bConfig()));
    const sam = [...table.keys()].filter((n) => n.startsWith("vision_model.vision_tower_high.vision_tower."));
    expect(sam).toHaveLength(186);
    const at = (n: string) => table.get(`vision_model.vision_tower_high.vision_tower.${n}`);
    expect(at("blocks.2.attn.rel_pos_h")).toEqual([127, 64]);
    expect(at("blocks.3.attn.rel_pos_w")).toEqual([27, 64]);
    expect(at("pos_embed")).toEqual([1, 64, 64, 768]);
    expect(at("neck_hd.0.weight")).toEqual([256, 768, 1, 1]);
    expect(at("downsamples.1.weight")).toEqual([1024, 512, 3, 3]);
    expect(at("hd_alpha_downsamples")).toEqual([1]);
    expect(table.get("vision_model.vision_tower_low.vision_tower.attn_pool.kv.weight")).toEqual([2048, 1024]);
    expect(table.get("aligner.layers.1.weight")).toEqual([4096, 4096]);
    expect(table.get("language_model.lm_head.weight")).toEqual([102400, 4096]);
  });
});

describe("parseConfig errors name the offending key", () => {
  const edit = (change: (c: any) => void) => {
    const config = official7bConfig() as any;
    change(config);
    return () => parse(config);
  };

  it.each([
    [
      "an unknown SAM model",
      (c: any) => (c.vision_config.params.high_res_cfg.model_name = "sam_h"),
      /high_res_cfg.model_name "sam_h" is not supported/,
    ],
    [
      "an unknown SigLIP model",
      (c: any) => (c.vision_config.params.low_res_cfg.model_name = "siglip_so400m"),
      /low_res_cfg.model_name "siglip_so400m" is not supported/,
    ],
    ["an unknown tower class", (c: any) => (c.vision_config.cls = "EVA"), /vision_config.cls "EVA" is not supported/],
    [
      "an unsupported projector",
      (c: any) => (c.aligner_config.params.projector_type = "mlp_gelu"),
      /projector_type "mlp_gelu" is not supported with HybridVisionTower/,
    ],
    [
      "a non-integer dimension",
      (c: any) => (c.language_config.num_hidden_layers = "30"),
      /language_config.num_hidden_layers must be a positive integer/,
    ],
    [
      "rope scaling",
      (c: any) => (c.language_config.rope_scaling = { type: "linear", factor: 2 }),
      /language_config.rope_scaling is not supported/,
    ],
    ["another select_layer", (c: any) => (c.vision_config.params.low_res_cfg.select_layer = -2), /select_layer -2 is not supported/],
    [
      "a mismatched aligner width",
      (c: any) => (c.aligner_config.params.n_embed = 2048),
      /n_embed 2048 differs from the LLM hidden_size 4096/,
    ],
  ])("rejects %s", (_, change, message) => {
    expect(edit(change)).toThrow(message);
  });

  it("rejects text that is not JSON", () => {
    expect(() => parseConfig("{")).toThrow(/config.json is not valid JSON/);
  });
});
