import { pino, stdTimeFunctions, type DestinationStream } from "pino";
import type { ConsumerConfig } from "./config.js";

export type ConsumerLogLevel = "error" | "warn" | "info";

/**
 * How the consumers write a log line: the line says what happened in the pipeline's terms (topics,
 * partitions, offsets, counts, error messages), never a row's values, a token or a password.
 * `level` defaults to info.
 */
export type ConsumerLog = (line: string, level?: ConsumerLogLevel) => void;

const rank: Record<ConsumerLogLevel, number> = { error: 0, warn: 1, info: 2 };

/** The readable line of the text format: `[consumers] <ISO time> [WARN ]<line>`. */
export function textLogLine(line: string, level: ConsumerLogLevel, now: Date): string {
  return `[consumers] ${now.toISOString()} ${level === "info" ? "" : `${level.toUpperCase()} `}${line}`;
}

/**
 * The consumers' log: readable lines on stdout (LOG_FORMAT=text, the default for people running
 * `npm start`), or pino JSON lines with a level label, time and `component` (LOG_FORMAT=json, for
 * log shippers). `destination` replaces stdout (tests).
 */
export function consumerLog(
  options: Pick<ConsumerConfig, "logFormat" | "logLevel">,
  destination?: DestinationStream,
): ConsumerLog {
  const enabled = (level: ConsumerLogLevel) => rank[level] <= rank[options.logLevel];
  if (options.logFormat === "text") {
    const write = destination
      ? (text: string) => destination.write(`${text}\n`)
      : (text: string) => console.log(text);
    return (line, level = "info") => {
      if (enabled(level)) write(textLogLine(line, level, new Date()));
    };
  }
  const logger = pino(
    {
      level: options.logLevel,
      base: { component: "consumers" },
      timestamp: stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
  return (line, level = "info") => logger[level](line);
}
