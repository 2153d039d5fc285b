// Photos as phones take them, through the real Worker (workerd) and GPU service (tiny model): a 12 MP EXIF-6 and a
// 48 MP JPEG uploaded as multipart files are answered (the decoder streams their rows: no frame is held whole); a
// progressive JPEG whose coefficients would not fit is refused with a 413 that says why; an upload that stalls
// mid-scan, with its Content-Length or chunked, gets a 408 once the body's idle timeout passes, and the next request
// is served.
import { mkdtempSync, rmSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { askAboutPhoto, photoChatRequest, pillowPhoto } from "./support/phone-photos.ts";
import { startTestSystem, type TestSystem } from "./support/system.ts";

const dir = mkdtempSync(join(tmpdir(), "phone-photos-"));
let system: TestSystem;

/** The body's idle timeout of this file's edge: short, so the stalled upload is answered soon. */
const BODY_IDLE_TIMEOUT_MS = 1500;

beforeAll(async () => {
  system = await startTestSystem({ edgeVars: { BODY_IDLE_TIMEOUT_MS: String(BODY_IDLE_TIMEOUT_MS) } });
}, 240_000);

afterAll(async () => {
  await system?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const ask = (file: Uint8Array) => askAboutPhoto(system, file);
const chatRequest = () => photoChatRequest(system);

describe("phone photos through the Worker", () => {
  it("answers a 12 MP photo shot upright (EXIF 6) and a 48 MP photo", async () => {
    for (const file of [pillowPhoto(dir, "12mp.jpg", 4032, 3024, { orientation: 6 }), pillowPhoto(dir, "48mp.jpg", 8000, 6000)]) {
      const answer = await ask(file);
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      expect(answer.body.usage.prompt_tokens).toBeGreaterThan(system.model.manifest.vision.imageTokens);
    }
  }, 120_000);

  it("refuses a progressive JPEG whose coefficients would not fit with a 413 that says why, and serves the next", async () => {
    const answer = await ask(pillowPhoto(dir, "progressive-20mp.jpg", 5200, 3900, { progressive: true }));
    expect(answer.status).toBe(413);
    expect(answer.body.error.code).toBe("image_too_large");
    expect(answer.body.error.message).toMatch(/progressive JPEG of 5200x3900 needs \d+ MiB for its coefficients.*baseline/);
    expect((await ask(pillowPhoto(dir, "small.jpg", 640, 480))).status).toBe(200);
  }, 120_000);

  it.each([
    ["declares its Content-Length", true],
    ["is chunked", false],
  ])(
    "answers an upload that %s and stalls in the middle of its JPEG's scan with 408 once the idle timeout passes, and serves the next",
    async (_, declared) => {
      const file = pillowPhoto(dir, "stalled.jpg", 4032, 3024, { orientation: 6 });
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
            ...(declared && { "content-length": head.length + file.length + tail.length }),
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
      expect((await ask(pillowPhoto(dir, "after-stall.jpg", 640, 480))).status).toBe(200);
    },
    120_000,
  );
});
