/**
 * Why a change event cannot be mapped. Every code means the event itself is invalid (or its table
 * unknown): retrying cannot help, so the consumer sends it to the dead-letter topic.
 */
export type MappingErrorCode =
  | "MAPPING_UNKNOWN_TABLE"
  | "MAPPING_TABLE_MISMATCH"
  | "MAPPING_UNKNOWN_OP"
  | "MAPPING_MISSING_AFTER"
  | "MAPPING_MISSING_BEFORE"
  | "MAPPING_MISSING_COLUMN"
  | "MAPPING_MISSING_LSN"
  | "MAPPING_BAD_VALUE"
  | "MAPPING_BAD_DECIMAL"
  | "MAPPING_BAD_TIMESTAMP"
  | "MAPPING_BAD_DATE"
  | "MAPPING_BAD_OFFSET";

export class MappingError extends Error {
  readonly canRetry = false;

  constructor(
    readonly code: MappingErrorCode,
    message: string,
    readonly table?: string,
    readonly column?: string,
  ) {
    super(message);
    this.name = "MappingError";
  }
}
