export { createGpuClients, type GpuClients } from "./client.ts";
