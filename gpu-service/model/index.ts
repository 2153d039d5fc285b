export { type ModelDirectory, ModelDirectoryError, openModelDirectory } from "./model-directory.ts";
