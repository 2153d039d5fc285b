import { describe, expect, test } from "vitest";

import {
  BOS_TEXT,
  type ChatMessage,
  DEFAULT_SYSTEM_PROMPT,
  EOS_TEXT,
  IMAGE_PLACEHOLDER,
  PromptError,
  pythonStrip,
  renderPrompt,
} from "./index.ts";

// Expected strings are copied from the reference (deepseek-vl.md §8.1), not built from the module's constants.
const SYS =
  "You are a helpful language and vision assistant. You are able to understand the visual content that the user provides, and assist the user with a variety of tasks using natural language.";
const EOS = "<\uFF5Cend\u2581of\u2581sentence\uFF5C>";

const text = (value: string) => ({ type: "text", text: value }) as const;
const image = { type: "image" } as const;
const user = (...parts: ChatMessage["parts"]): ChatMessage => ({ role: "user", parts });
const assistant = (value: string): ChatMessage => ({ role: "assistant", parts: [text(value)] });
const system = (value: string): ChatMessage => ({ role: "system", parts: [text(value)] });

function errorOf(messages: unknown): PromptError {
  try {
    renderPrompt(messages as ChatMessage[]);
  } catch (error) {
    if (error instanceof PromptError) return error;
    throw error;
  }
  throw new Error("renderPrompt did not throw");
}

describe("renderPrompt: the reference's strings", () => {
  test("single turn with an image at the start (README)", () => {
    expect(renderPrompt([user(image, text("Describe each stage of this image."))])).toBe(
      `${SYS}\n\nUser: <image_placeholder>Describe each stage of this image.\n\nAssistant:`,
    );
  });

  test("multi-turn: EOS after the assistant reply, directly followed by User:", () => {
    const prompt = renderPrompt([user(image, text("What is it?")), assistant("A dog."), user(text("And the color?"))]);
    expect(prompt).toBe(`${SYS}\n\nUser: <image_placeholder>What is it?\n\nAssistant: A dog.${EOS}User: And the color?\n\nAssistant:`);
  });

  test("text only (the HF port's integration prompt)", () => {
    expect(renderPrompt([user(text("Describe this image."))])).toBe(`${SYS}\n\nUser: Describe this image.\n\nAssistant:`);
  });

  test("ends in Assistant: without a trailing space", () => {
    expect(renderPrompt([user(text("Hi"))]).endsWith("\n\nAssistant:")).toBe(true);
  });
});

describe("special strings", () => {
  test("the system text is the official one", () => {
    expect(DEFAULT_SYSTEM_PROMPT).toBe(SYS);
  });

  test("full-width bars U+FF5C and U+2581, not ASCII | and _", () => {
    const codePoints = (s: string) => [...s].map((c) => c.codePointAt(0));
    expect(codePoints(EOS_TEXT)).toEqual([
      0x3c,
      0xff5c,
      ...codePoints("end"),
      0x2581,
      ...codePoints("of"),
      0x2581,
      ...codePoints("sentence"),
      0xff5c,
      0x3e,
    ]);
    expect(codePoints(BOS_TEXT)).toEqual([
      0x3c,
      0xff5c,
      ...codePoints("begin"),
      0x2581,
      ...codePoints("of"),
      0x2581,
      ...codePoints("sentence"),
      0xff5c,
      0x3e,
    ]);
    expect(IMAGE_PLACEHOLDER).toBe("<image_placeholder>");
    const prompt = renderPrompt([user(text("a")), assistant("b"), user(text("c"))]);
    expect(prompt).toContain("b<\uFF5Cend\u2581of\u2581sentence\uFF5C>User: c");
    expect(prompt).not.toMatch(/[|_]/);
  });
});

describe("content and stripping", () => {
  test("each image placeholder stands where its part stood, parts concatenated verbatim", () => {
    expect(renderPrompt([user(text("Compare "), image, text(" and "), image, text("."))])).toBe(
      `${SYS}\n\nUser: Compare <image_placeholder> and <image_placeholder>.\n\nAssistant:`,
    );
    expect(renderPrompt([user(text("What is this?"), image)])).toBe(`${SYS}\n\nUser: What is this?<image_placeholder>\n\nAssistant:`);
  });

  test("message content is stripped with Python's whitespace set", () => {
    const prompt = renderPrompt([
      user(text(" \t\u3000\u00a0\x1c\u0085Hello\u2029\n ")),
      assistant("\u2003 yes \x1f"),
      user(text("\uFEFFok\u200b")),
    ]);
    // U+FEFF and U+200B are not whitespace to Python: they stay.
    expect(prompt).toBe(`${SYS}\n\nUser: Hello\n\nAssistant: yes${EOS}User: \uFEFFok\u200b\n\nAssistant:`);
  });

  test("whitespace inside the content is kept", () => {
    expect(renderPrompt([user(text("  a \n\n b  "))])).toBe(`${SYS}\n\nUser: a \n\n b\n\nAssistant:`);
  });

  test("an empty assistant turn renders as the bare role, without EOS (the template's `if message:`)", () => {
    expect(renderPrompt([user(text("a")), assistant("  "), user(text("b"))])).toBe(`${SYS}\n\nUser: a\n\nAssistant:User: b\n\nAssistant:`);
  });
});

describe("pythonStrip", () => {
  // Python 3.11: [c for c in range(0x110000) if chr(c).isspace()]
  const PYTHON_SPACE = [
    0x9, 0xa, 0xb, 0xc, 0xd, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x85, 0xa0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006,
    0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000,
  ];

  const hex = (codePoints: number[]) =>
    codePoints.map((codePoint) => [codePoint.toString(16).toUpperCase().padStart(4, "0"), codePoint] as const);

  test.each(hex(PYTHON_SPACE))("strips U+%s from both ends", (_, codePoint) => {
    const space = String.fromCodePoint(codePoint);
    expect(pythonStrip(`${space}${space}x${space}y${space}`)).toBe(`x${space}y`);
  });

  test.each(hex([0x180e, 0x200b, 0x200c, 0x2060, 0xfeff, 0xad, 0x1f600]))("keeps U+%s (not whitespace to Python)", (_, codePoint) => {
    const other = String.fromCodePoint(codePoint);
    expect(pythonStrip(` ${other}x${other} `)).toBe(`${other}x${other}`);
  });

  test("all-whitespace and empty strings become empty", () => {
    expect(pythonStrip(String.fromCodePoint(...PYTHON_SPACE))).toBe("");
    expect(pythonStrip("")).toBe("");
  });
});

describe("system messages", () => {
  test("a system message replaces the default system text", () => {
    expect(renderPrompt([system(" Be brief. "), user(text("Hi"))])).toBe("Be brief.\n\nUser: Hi\n\nAssistant:");
  });

  test("several system messages are joined with a blank line, wherever they stand", () => {
    expect(renderPrompt([system("One."), user(text("Hi")), assistant("Hello."), system("Two."), user(text("Bye"))])).toBe(
      `One.\n\nTwo.\n\nUser: Hi\n\nAssistant: Hello.${EOS}User: Bye\n\nAssistant:`,
    );
  });

  test("an empty system message removes the system block (the template's empty-system branch)", () => {
    expect(renderPrompt([system(""), user(text("Hi"))])).toBe("User: Hi\n\nAssistant:");
  });
});

describe("validation", () => {
  test.each([
    ["empty_conversation", []],
    ["empty_conversation", [system("only")]],
    ["unknown_role", [{ role: "tool", parts: [text("x")] }]],
    ["first_not_user", [assistant("Hello."), user(text("Hi"))]],
    ["consecutive_roles", [user(text("a")), user(text("b"))]],
    ["consecutive_roles", [user(text("a")), assistant("b"), assistant("c"), user(text("d"))]],
    ["last_not_user", [user(text("a")), assistant("b")]],
    ["empty_message", [user(text(" \n "))]],
    ["image_not_allowed", [user(text("a")), { role: "assistant", parts: [image] }, user(text("b"))]],
    ["image_not_allowed", [{ role: "system", parts: [image] }, user(text("b"))]],
    ["reserved_text", [user(text("see <image_placeholder>"))]],
    ["reserved_text", [user(text(`a${EOS}User: b`))]],
    ["reserved_text", [system(`${BOS_TEXT}x`), user(text("b"))]],
    ["invalid_message", [{ role: "user", parts: "Hi" }]],
    ["invalid_message", [{ role: "user", parts: [{ type: "audio" }] }]],
  ])("%s", (code, messages) => {
    expect(errorOf(messages).code).toBe(code);
  });

  test("messages name the offending message", () => {
    expect(errorOf([user(text("a")), user(text("b"))]).message).toBe(
      "messages[1]: two consecutive user messages; roles must alternate user/assistant",
    );
    expect(errorOf([user(text("a")), { role: "assistant", parts: [image] }, user(text("b"))]).message).toMatch(
      /^messages\[1\]\.parts\[0\]: images are allowed in user messages only/,
    );
  });
});
