// Official checkpoint directory → WeightLookup, through the converter's safetensors reader (it only parses
// files; the reference's independence concerns the forward computation, not file decoding).

import { Checkpoint } from "../../converter/checkpoint/index.ts";
import type { WeightLookup, WeightTensor } from "./weights.ts";

/** Reads every tensor of the checkpoint in `dir`, widened to fp32 (meant for small fixtures). */
export async function loadCheckpoint(dir: string): Promise<WeightLookup> {
  const checkpoint = await Checkpoint.open(dir);
  try {
    const tensors = new Map<string, WeightTensor>();
    for (const [name, entry] of checkpoint.tensors) {
      const source = checkpoint.source(name, "float32");
      const bytes = new Uint8Array(source.byteLength);
      let offset = 0;
      await source.writeTo(async (chunk) => {
        bytes.set(chunk, offset);
        offset += chunk.length;
      });
      tensors.set(name, { shape: entry.shape, data: new Float32Array(bytes.buffer) });
    }
    return (name) => tensors.get(name);
  } finally {
    await checkpoint.close();
  }
}
