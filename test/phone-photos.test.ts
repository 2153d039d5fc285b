// Photos as phones take them, through the real Worker (workerd) and GPU service (tiny model): a 12 MP EXIF-6 and a
// 48 MP JPEG uploaded as multipart files are answered (JPEGs stream through the decoder, never held whole); a
// progressive JPEG whose coefficients would not fit is refused with a 413 that says why; an upload that stalls
// mid-scan gets a 408 once the body's idle timeout passes, and the next request is served.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readJson } from "./support/json.ts";
import { startTestSystem, type TestSystem } from "./support/system.ts";

const dir = mkdtempSync(join(tmpdir(), "phone-photos-"));
let system: TestSystem;

/** A smooth photo-like JPEG written by Debian's Pillow (quality 90, 4:2:0), with an EXIF orientation. */
function photo(name: string, width: number, height: number, options: { orientation?: number; progressive?: boolean } = {}) {
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

/** The body's idle timeout of this file's edge: short, so the stalled upload is answered soon. */
const BODY_IDLE_TIMEOUT_MS = 1500;

beforeAll(async () => {
  system = await startTestSystem({ edgeVars: { BODY_IDLE_TIMEOUT_MS: String(BODY_IDLE_TIMEOUT_MS) } });
}, 240_000);

afterAll(async () => {
  await system?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function chatRequest() {
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

async function ask(file: Uint8Array) {
  const form = new FormData();
  form.set("request", JSON.stringify(chatRequest()));
  form.set("photo", new Blob([file], { type: "image/jpeg" }), "photo.jpg");
  const response = await fetch(`${system.edge.url}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${system.apiKey}` },
    body: form,
  });
  return { status: response.status, body: await readJson(response) };
}

describe("phone photos through the Worker", () => {
  it("answers a 12 MP photo shot upright (EXIF 6) and a 48 MP photo", async () => {
    for (const file of [photo("12mp.jpg", 4032, 3024, { orientation: 6 }), photo("48mp.jpg", 8000, 6000)]) {
      const answer = await ask(file);
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      expect(answer.body.usage.prompt_tokens).toBeGreaterThan(system.model.manifest.vision.imageTokens);
    }
  }, 120_000);

  it("refuses a progressive JPEG whose coefficients would not fit with a 413 that says why, and serves the next", async () => {
    const answer = await ask(photo("progressive-20mp.jpg", 5200, 3900, { progressive: true }));
    expect(answer.status).toBe(413);
    expect(answer.body.error.code).toBe("image_too_large");
    expect(answer.body.error.message).toMatch(/progressive JPEG of 5200x3900 needs \d+ MiB for its coefficients.*baseline/);
    expect((await ask(photo("small.jpg", 640, 480))).status).toBe(200);
  }, 120_000);

  it("answers an upload that stalls in the middle of its JPEG's scan with 408 once the idle timeout passes, and serves the next", async () => {
    const file = photo("stalled.jpg", 4032, 3024, { orientation: 6 });
    const boundary = "stalled-upload-boundary";
    const head = Buffer.from(
      `--${boundary}\r\ncontent-disposition: form-data; name="request"\r\n\r\n${JSON.stringify(chatRequest())}\r\n` +
        `--${boundary}\r\ncontent-disposition: form-data; name="photo"; filename="photo.jpg"\r\ncontent-type: image/jpeg\r\n\r\n`,
    );
    const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
    const url = new URL(`${system.edge.url}/v1/chat/completions`);
    const started = performance.now();
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const upload = httpRequest(url, {
        method: "POST",
        headers: {
          authorization: `Bearer ${system.apiKey}`,
          "content-type": `multipart/form-data; boundary=${boundary}`,
          "content-length": head.length + file.length + tail.length,
        },
      });
      upload.on("response", (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () => {
          resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString() });
          upload.destroy();
        });
      });
      upload.on("error", reject);
      // Half the photo, then nothing: the connection stays open.
      upload.write(head);
      upload.write(file.subarray(0, file.length >> 1));
    });
    expect(answer.status, answer.body).toBe(408);
    expect(JSON.parse(answer.body).error.code).toBe("request_timeout");
    expect(performance.now() - started).toBeGreaterThanOrEqual(BODY_IDLE_TIMEOUT_MS);
    expect((await ask(photo("after-stall.jpg", 640, 480))).status).toBe(200);
  }, 120_000);
});
