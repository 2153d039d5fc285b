import { createExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { createApp } from "./app.ts";

describe("the edge app", () => {
  const env = { GPU_SERVICE_URL: "http://127.0.0.1:9", GPU_SERVICE_SECRET: "0123456789abcdef" };

  it("answers unknown routes with a 404 in OpenAI's error envelope and a request id", async () => {
    const response = await createApp().request("/v1/nowhere", {}, env, createExecutionContext());
    expect(response.status).toBe(404);
    expect(response.headers.get("x-request-id")).toBeTruthy();
    expect(await response.json()).toEqual({
      error: { message: "No route for GET /v1/nowhere", type: "invalid_request_error", param: null, code: "not_found" },
    });
  });

  it("refuses to serve when misconfigured, naming the problem", async () => {
    const response = await createApp().request("/healthz", {}, { GPU_SERVICE_SECRET: "0123456789abcdef" });
    expect(response.status).toBe(500);
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("edge_misconfigured");
    expect(body.error.message).toContain("GPU_SERVICE_URL");
  });

  it("hides the diagnostics routes unless an admin key is configured", async () => {
    const response = await createApp().request("/v1/diagnostics/echo", { method: "POST", body: "x" }, env, createExecutionContext());
    expect(response.status).toBe(404);
  });
});
