import type { FastifyServerOptions } from "fastify";
import type { ApiConfig } from "./config.js";

/**
 * Paths pino censors wherever they occur in a log object: credentials and the personal columns of
 * the CRM (names, email, phone). Request lines never carry headers or bodies in the first place
 * (see the serializers); this is the second line of defence.
 */
export const redactedPaths = [
  "req.headers.authorization",
  "req.headers.cookie",
  'req.headers["proxy-authorization"]',
  'res.headers["set-cookie"]',
  "headers.authorization",
  "authorization",
  "token",
  "*.token",
  "access_token",
  "*.access_token",
  "email",
  "*.email",
  "phone",
  "*.phone",
  "first_name",
  "*.first_name",
  "last_name",
  "*.last_name",
  "customer_name",
  "*.customer_name",
  "name",
  "preferred_username",
];

/** Where log lines go instead of stdout (tests capture them). */
export interface LogStream {
  write(line: string): void;
}

/** The API's pino options; tests pass a `stream` to capture lines. */
export function loggerOptions(
  level: ApiConfig["logLevel"],
  stream?: LogStream,
): NonNullable<Exclude<FastifyServerOptions["logger"], boolean>> {
  return {
    level,
    ...(stream ? { stream } : {}),
    redact: { paths: redactedPaths, censor: "[redacted]" },
    serializers: {
      req: (request: { method: string; url: string; ip?: string; id?: string }) => ({
        method: request.method,
        url: request.url,
        remoteAddress: request.ip,
      }),
      res: (reply: { statusCode: number }) => ({ statusCode: reply.statusCode }),
    },
  };
}
