export { ByteLru, type LruOptions, type LruStats } from "./lru.ts";
