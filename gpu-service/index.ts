export { ConfigError, describeConfig, loadConfig, type GpuServiceConfig } from "./config.ts";
export { createLogger, type Logger } from "./log.ts";
export { startGpuService, type GpuService } from "./server.ts";
