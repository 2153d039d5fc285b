// The Worker: mobile apps' REST API in front of the GPU service.
import { createApp } from "./app.ts";

export default createApp();
