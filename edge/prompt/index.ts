export { type DetokenizerOptions, IncrementalDetokenizer, type TextDelta } from "./detokenize.ts";
export { PromptError, type PromptErrorCode } from "./errors.ts";
export { checkTokenLimit, type TokenLimitInput } from "./limits.ts";
export { fromOpenAiMessages, type OpenAiConversation } from "./openai.ts";
export { pythonStrip } from "./python-strip.ts";
export {
  BOS_TEXT,
  type ChatMessage,
  type ChatPart,
  type ChatRole,
  DEFAULT_SYSTEM_PROMPT,
  EOS_TEXT,
  IMAGE_PLACEHOLDER,
  renderPrompt,
} from "./template.ts";
export { type ImageRun, type PromptTokens, type TokenizeOptions, tokenize } from "./tokenize.ts";
export { ChatTokenizer, DEEPSEEK_VL_TOKENS, type TokenFacts, TokenizerCache, tokenFacts } from "./tokenizer.ts";
