export { ConfigError, describeConfig, type GpuServiceConfig, loadConfig } from "./config.ts";
export { createLogger } from "./log.ts";
export { startGpuService } from "./server.ts";
