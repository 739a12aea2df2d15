import { logLevel, type LogEntry, type logCreator } from "kafkajs";
import type { ConsumerLog } from "../logging.js";

/**
 * One line for a kafkajs log entry at WARN or above, or undefined to leave it out. kafkajs' connection
 * layer logs every error response at ERROR before its own retry logic looks at it ("The coordinator
 * is loading", "Rebalance in progress" while a group starts): those are noise. Failures that matter
 * reach the pipeline as thrown errors or consumer CRASH events and are logged there with context.
 */
export function kafkaLogLine(level: logLevel, entry: LogEntry): string | undefined {
  if (level > logLevel.WARN || level === logLevel.NOTHING) return undefined;
  if (entry.namespace === "Connection") return undefined;
  const { message, error } = entry.log as { message?: string; error?: string };
  const name = level === logLevel.ERROR ? "error" : "warning";
  return `kafka ${name} [${entry.namespace}] ${message ?? ""}${error ? `: ${error}` : ""}`;
}

/** A kafkajs logCreator writing through `log`, at kafkajs' level. */
export const kafkaLogCreator =
  (log: ConsumerLog): logCreator =>
  () =>
  ({ level, ...entry }) => {
    const line = kafkaLogLine(level, { level, ...entry });
    if (line) log(line, level === logLevel.ERROR ? "error" : "warn");
  };
