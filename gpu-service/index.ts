export { ConfigError, describeConfig, loadConfig } from "./config.ts";
export { createLogger } from "./log.ts";
export { startGpuService } from "./server.ts";
