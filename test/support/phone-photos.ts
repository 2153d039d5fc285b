// Phone-like photos for the tests, written by Debian's Pillow (the reference the edge must match), and how an app
// uploads one: a multipart chat request whose image is the file part "photo".
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { readJson } from "./json.ts";
import type { TestSystem } from "./system.ts";

/** A smooth photo-like JPEG written by Debian's Pillow (quality 90, 4:2:0), with an EXIF orientation. */
export function pillowPhoto(
  dir: string,
  name: string,
  width: number,
  height: number,
  options: { orientation?: number; progressive?: boolean } = {},
) {
  const path = join(dir, name);
  const script = `
import sys
from PIL import Image
w, h, orientation, progressive = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5] == "1"
gradient = Image.linear_gradient("L").resize((w, h))
image = Image.merge("RGB", (gradient, gradient.rotate(90).resize((w, h)), Image.effect_noise((w, h), 40)))
exif = Image.Exif()
exif[0x0112] = orientation
image.save(sys.argv[1], "JPEG", quality=90, subsampling=2, progressive=progressive, exif=exif.tobytes())
`;
  const run = spawnSync(
    "/usr/bin/python3",
    ["-c", script, path, String(width), String(height), String(options.orientation ?? 1), options.progressive ? "1" : "0"],
    {
      encoding: "utf8",
    },
  );
  if (run.status !== 0) throw new Error(`Pillow could not write ${name}: ${run.stderr}`);
  return new Uint8Array(readFileSync(path));
}

/** A two-token chat request about the multipart file part "photo". */
export function photoChatRequest(system: TestSystem) {
  return {
    model: system.model.manifest.name,
    messages: [
      {
        role: "user",
        content: [
          { type: "image_url", image_url: { url: "attachment:photo" } },
          { type: "text", text: "Describe." },
        ],
      },
    ],
    max_tokens: 2,
  };
}

/** Uploads `file` as an app does (multipart), asking `photoChatRequest`; the status and the JSON answer. */
export async function askAboutPhoto(system: TestSystem, file: Uint8Array) {
  const form = new FormData();
  form.set("request", JSON.stringify(photoChatRequest(system)));
  form.set("photo", new Blob([file], { type: "image/jpeg" }), "photo.jpg");
  const response = await fetch(`${system.edge.url}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${system.apiKey}` },
    body: form,
  });
  return { status: response.status, body: await readJson(response) };
}
