export { requireAdmin, requireApiKey } from "./auth.ts";
