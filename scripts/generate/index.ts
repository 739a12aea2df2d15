export { generate, type GenerateOptions, type GenerateSummary } from "./generate.js";
export { checksum, type SourceDatabases } from "./checksum.js";
