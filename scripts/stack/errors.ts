/**
 * Errors of the native stack. `code` is stable (decisions and tests use it, never the text);
 * the message always says what to do next and, for a component, where its log is.
 */
export type StackErrorCode =
  | "STACK_MISSING_DEPENDENCY"
  | "STACK_INSTALL_FAILED"
  | "STACK_START_FAILED"
  | "STACK_HEALTH_TIMEOUT"
  | "STACK_PORT_IN_USE"
  | "STACK_CONNECTOR_FAILED"
  | "STACK_REALM_FAILED"
  | "STACK_BAD_INPUT";

export class StackError extends Error {
  readonly code: StackErrorCode;
  readonly component: string | undefined;
  readonly logFile: string | undefined;

  constructor(
    code: StackErrorCode,
    message: string,
    options: { component?: string; logFile?: string; cause?: unknown } = {},
  ) {
    const where = options.logFile ? ` (log: ${options.logFile})` : "";
    super(`${options.component ? `${options.component}: ` : ""}${message}${where}`, { cause: options.cause });
    this.name = "StackError";
    this.code = code;
    this.component = options.component;
    this.logFile = options.logFile;
  }
}
