/**
 * Errors of the topic inspection commands. `code` is stable (tests and scripts use it, never the
 * text); the message says what to do next. The CLI prints `error [CODE]: message` and exits 1.
 */
export type TopicsErrorCode =
  | "KAFKA_UNAVAILABLE"
  | "REGISTRY_UNAVAILABLE"
  | "REGISTRY_ERROR"
  | "TOPIC_NOT_FOUND"
  | "TABLE_AMBIGUOUS"
  | "SUBJECT_NOT_FOUND"
  | "VERSION_NOT_FOUND"
  | "DEAD_LETTER_NOT_FOUND"
  | "DEAD_LETTER_NOT_REPLAYABLE";

export class TopicsError extends Error {
  readonly code: TopicsErrorCode;

  constructor(code: TopicsErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.name = "TopicsError";
    this.code = code;
  }
}

export const START_THE_STACK = "start the stack: npm run stack -- up";
