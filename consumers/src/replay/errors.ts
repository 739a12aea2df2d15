/**
 * Errors of the replay with stable codes. `usage` ones are the operator's to fix (exit code 2);
 * the others are failures (exit code 1). What to do next is in the message.
 */
export type ReplayErrorCode =
  | "REPLAY_ABORTED"
  | "REPLAY_BAD_FROM"
  | "REPLAY_UNKNOWN_TABLE"
  | "REPLAY_OTHER_RUN"
  | "REPLAY_DIFFERENCES"
  | "REPLAY_LIVE_MOVED"
  | "REPLAY_LIVE_INTENT"
  | "REPLAY_TIMEOUT"
  | "REPLAY_TABLES_MISMATCH";

const USAGE_CODES = new Set<ReplayErrorCode>(["REPLAY_BAD_FROM", "REPLAY_UNKNOWN_TABLE", "REPLAY_OTHER_RUN"]);

export class ReplayError extends Error {
  constructor(
    readonly code: ReplayErrorCode,
    message: string,
    options: { cause?: unknown } = {},
  ) {
    super(message, options);
    this.name = "ReplayError";
  }

  /** True when the command line asked for something impossible (exit code 2). */
  get usage(): boolean {
    return USAGE_CODES.has(this.code);
  }
}
