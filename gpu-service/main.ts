// Process entry of the GPU service: configuration from the environment, signals, exit codes.
import { ConfigError, createLogger, describeConfig, type GpuServiceConfig, loadConfig, startGpuService } from "./index.ts";

const log = createLogger();
let config: GpuServiceConfig;
try {
  config = loadConfig(process.env);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`gpu-service: ${error.message}\n`);
  process.exit(2);
}
process.stdout.write(`gpu-service configuration:\n${describeConfig(config)}\n`);

const service = await startGpuService(config, log);
let stopping = false;
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    log.info("signal received", { signal });
    service.shutdown().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error("shutdown failed", { error: String(error) });
        process.exit(1);
      },
    );
  });
}
