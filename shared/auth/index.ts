export { bearerToken, secretMatchesAny, secretsEqual } from "./secrets.ts";
