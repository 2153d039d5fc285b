import packageJson from "../package.json" with { type: "json" };

/** The project's version, as released. */
export const VERSION: string = packageJson.version;
