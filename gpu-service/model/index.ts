export { ModelDirectoryError, openModelDirectory, type ModelDirectory } from "./model-directory.ts";
