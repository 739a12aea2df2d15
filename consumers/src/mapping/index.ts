export { ChunkCollector, collectChunk, type CollectedChunk } from "./collect.js";
export { MappingError, type MappingErrorCode } from "./errors.js";
export { mapChange, parseTopicTable, tableMappings } from "./map-change.js";
export type { TableMapping } from "./table-mapping.js";
export * from "./types.js";
