/**
 * Errors of the consumer with stable codes. `canRetry` decides: transient failures are retried with
 * backoff and never lose data; permanent ones concern one record, which goes to the dead-letter topic.
 */
export type ConsumerErrorCode =
  | "DECODE_NOT_CONFLUENT_FORMAT"
  | "DECODE_UNKNOWN_SCHEMA"
  | "DECODE_BAD_AVRO"
  | "REGISTRY_UNAVAILABLE"
  | "CLICKHOUSE_UNAVAILABLE"
  | "TOPICS_MISSING"
  | "PROGRESS_NOT_LOADED"
  | "PARTITION_NOT_CLAIMED"
  | "REPAIR_UNSUPPORTED";

export class ConsumerError extends Error {
  constructor(
    readonly code: ConsumerErrorCode,
    message: string,
    readonly canRetry: boolean,
    options: { cause?: unknown } = {},
  ) {
    super(message, options);
    this.name = "ConsumerError";
  }
}

/**
 * ClickHouse failures worth retrying: the server or network is away, or it asks us to slow down.
 * Codes from ClickHouse's ErrorCodes.cpp; anything else (syntax, type mismatch) is a programming error.
 */
const TRANSIENT_CLICKHOUSE_CODES = new Set([
  "159", // TIMEOUT_EXCEEDED
  "164", // READONLY
  "202", // TOO_MANY_SIMULTANEOUS_QUERIES
  "209", // SOCKET_TIMEOUT
  "210", // NETWORK_ERROR
  "241", // MEMORY_LIMIT_EXCEEDED
  "242", // TABLE_IS_READ_ONLY
  "252", // TOO_MANY_PARTS
  "319", // UNKNOWN_STATUS_OF_INSERT
  "425", // SYSTEM_ERROR
  "999", // KEEPER_EXCEPTION
]);

const TRANSIENT_NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "EAI_AGAIN",
  "UND_ERR_SOCKET",
]);

export function isTransient(error: unknown): boolean {
  if (error instanceof ConsumerError) return error.canRetry;
  const coded = error as { code?: unknown; cause?: unknown; type?: unknown } | null;
  if (!coded || typeof coded !== "object") return false;
  const code = typeof coded.code === "string" ? coded.code : undefined;
  if (code && (TRANSIENT_CLICKHOUSE_CODES.has(code) || TRANSIENT_NETWORK_CODES.has(code))) return true;
  return coded.cause !== undefined && coded.cause !== error ? isTransient(coded.cause) : false;
}
