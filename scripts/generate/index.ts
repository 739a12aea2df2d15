export { generate, type GenerateOptions, type GenerateSummary } from "./generate.js";
export { checksum, rowCount, type SourceDatabases } from "./checksum.js";
