import { describe, expect, it } from "vitest";
import { bearerToken, secretMatchesAny, secretsEqual } from "./index.ts";

describe("secretsEqual", () => {
  it("accepts the identical secret", async () => {
    expect(await secretsEqual("correct horse battery staple", "correct horse battery staple")).toBe(true);
  });
  it("rejects secrets that differ in one character, in length, or are empty", async () => {
    expect(await secretsEqual("correct horse battery stapla", "correct horse battery staple")).toBe(false);
    expect(await secretsEqual("correct horse battery stapl", "correct horse battery staple")).toBe(false);
    expect(await secretsEqual("", "correct horse battery staple")).toBe(false);
  });
  it("matches any of several accepted secrets", async () => {
    expect(await secretMatchesAny("key-b", ["key-a", "key-b"])).toBe(true);
    expect(await secretMatchesAny("key-c", ["key-a", "key-b"])).toBe(false);
    expect(await secretMatchesAny("key-a", [])).toBe(false);
  });
});

describe("bearerToken", () => {
  it("extracts the token of a Bearer header, case-insensitively", () => {
    expect(bearerToken("Bearer abc.def")).toBe("abc.def");
    expect(bearerToken("bearer   xyz ")).toBe("xyz");
  });
  it("returns undefined for absent or malformed headers", () => {
    expect(bearerToken(null)).toBeUndefined();
    expect(bearerToken("")).toBeUndefined();
    expect(bearerToken("Basic dXNlcjpwYXNz")).toBeUndefined();
    expect(bearerToken("Bearer")).toBeUndefined();
    expect(bearerToken("Bearer a b")).toBeUndefined();
  });
});
