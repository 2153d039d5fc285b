export { IncrementalDetokenizer, type DetokenizerOptions, type TextDelta } from "./detokenize.ts";
export { PromptError, type PromptErrorCode } from "./errors.ts";
export { checkTokenLimit, type TokenLimitInput } from "./limits.ts";
export { fromOpenAiMessages, type OpenAiConversation } from "./openai.ts";
export { pythonStrip } from "./python-strip.ts";
export {
  BOS_TEXT,
  DEFAULT_SYSTEM_PROMPT,
  EOS_TEXT,
  IMAGE_PLACEHOLDER,
  renderPrompt,
  type ChatMessage,
  type ChatPart,
  type ChatRole,
} from "./template.ts";
export { tokenize, type ImageRun, type PromptTokens, type TokenizeOptions } from "./tokenize.ts";
export { ChatTokenizer, DEEPSEEK_VL_TOKENS, TokenizerCache, tokenFacts, type TokenFacts } from "./tokenizer.ts";
