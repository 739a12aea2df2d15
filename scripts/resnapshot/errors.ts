/**
 * Errors of `resnapshot`. `code` is stable (tests and scripts use it, never the text); the message
 * says what to do next. The CLI prints `error [CODE]: message` and exits 1.
 */
export type ResnapshotErrorCode =
  "CONNECTOR_NOT_RUNNING" | "TOPIC_NOT_FOUND" | "TABLE_EMPTY" | "LOCK_TIMEOUT" | "SNAPSHOT_TIMEOUT";

export class ResnapshotError extends Error {
  readonly code: ResnapshotErrorCode;

  constructor(code: ResnapshotErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.name = "ResnapshotError";
    this.code = code;
  }
}
