export { conversationOf, outputItemId } from "./input.ts";
export { readResponsesRequest } from "./request.ts";
export { messageItem, outputText, type ResponseIdentity, responseObject } from "./shapes.ts";
export { type ChatMessageInput, ResponseStore } from "./store.ts";
