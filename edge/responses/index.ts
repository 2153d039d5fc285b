export { conversationOf, outputItemId } from "./input.ts";
export { LOGPROBS_INCLUDE, readResponsesRequest } from "./request.ts";
export { messageItem, outputText, type ResponseIdentity, responseObject } from "./shapes.ts";
export { type ChatMessageInput, ResponseStore } from "./store.ts";
