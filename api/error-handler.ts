import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { ApiError, toProblem, type ErrorCode } from "./errors.js";

interface ValidationIssue {
  instancePath?: string;
  keyword?: string;
  message?: string;
  params?: { additionalProperty?: unknown; missingProperty?: unknown };
}

/** The failing parameter of a validation issue, and the error code that names it. */
const codeByParameter: Record<string, ErrorCode> = {
  month: "INVALID_MONTH",
  date: "INVALID_DATE",
  user_id: "INVALID_USER_ID",
  limit: "INVALID_PAGINATION",
  cursor: "INVALID_PAGINATION",
};

const explanation: Partial<Record<ErrorCode, string>> = {
  INVALID_MONTH: "month must be a UTC month YYYY-MM between 1970-01 and 2148-12",
  INVALID_DATE: "date must be a real UTC calendar day YYYY-MM-DD between 1970-01-01 and 2148-12-31",
  INVALID_USER_ID: "user_id must be an integer between 1 and 2147483647",
  INVALID_PAGINATION: "limit must be 1..500 and cursor a next_cursor returned by this API",
};

interface Issue {
  parameter: string;
  message: string;
  unknown: boolean;
}

function validationError(error: FastifyError, validation: readonly ValidationIssue[], context: string) {
  const issues = validation.map((issue): Issue => {
    const extra = issue.params?.additionalProperty;
    if (issue.keyword === "additionalProperties" && typeof extra === "string")
      return { parameter: extra, message: "unknown parameter", unknown: true };
    const missing = issue.params?.missingProperty;
    const parameter =
      typeof missing === "string"
        ? missing
        : ((issue.instancePath ?? "").replace(/^\//, "").split("/")[0] ?? "");
    return { parameter: parameter || context, message: issue.message ?? "invalid", unknown: false };
  });
  const first = issues[0];
  const parameter: string = first?.parameter ?? "";
  const code: ErrorCode = first?.unknown
    ? "UNKNOWN_PARAMETER"
    : (codeByParameter[parameter] ?? "INVALID_REQUEST");
  const detail =
    code === "UNKNOWN_PARAMETER"
      ? `unknown ${context} parameter "${parameter}"`
      : (explanation[code] ?? `${context}: ${parameter} ${first?.message ?? "is invalid"}`);
  return new ApiError(code, detail, {
    cause: error,
    extensions: { errors: issues.map(({ parameter, message }) => ({ parameter, message })) },
  });
}

const unavailableCodes = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "EAI_AGAIN",
  "UND_ERR_SOCKET",
]);

function clickHouseUnavailable(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && typeof e === "object" && depth < 5; depth += 1) {
    const { code, message, cause } = e as { code?: unknown; message?: unknown; cause?: unknown };
    if (typeof code === "string" && unavailableCodes.has(code)) return true;
    if (typeof message === "string" && message.startsWith("ChdbConnection is closed")) return true;
    e = cause;
  }
  return false;
}

/** Anything thrown in a request -> the ApiError it answers as. */
export function asApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  const fastify = error as FastifyError;
  if (Array.isArray(fastify.validation))
    return validationError(
      fastify,
      fastify.validation as ValidationIssue[],
      fastify.validationContext ?? "request",
    );
  switch (fastify.code) {
    case "FST_CSRF_INVALID_TOKEN":
    case "FST_CSRF_MISSING_SECRET":
      return new ApiError("CSRF_TOKEN_INVALID", "send the csrf_token of GET /bff/session as x-csrf-token", {
        cause: error,
      });
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return new ApiError("UNSUPPORTED_MEDIA_TYPE", "send the body as application/json", { cause: error });
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return new ApiError("PAYLOAD_TOO_LARGE", "the request body is too large", { cause: error });
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
    case "FST_ERR_CTP_INVALID_JSON_BODY":
    case "FST_ERR_CTP_INVALID_CONTENT_LENGTH":
      return new ApiError("INVALID_REQUEST", "the request body is not valid JSON", { cause: error });
  }
  if (fastify.statusCode === 400 && error instanceof SyntaxError)
    return new ApiError("INVALID_REQUEST", "the request body is not valid JSON", { cause: error });
  if (clickHouseUnavailable(error))
    return new ApiError("CLICKHOUSE_UNAVAILABLE", "the marts cannot be read right now; retry shortly", {
      cause: error,
    });
  return new ApiError(
    "INTERNAL_ERROR",
    "the request failed; the request_id identifies it in the server log",
    {
      cause: error,
    },
  );
}

export function sendProblem(request: FastifyRequest, reply: FastifyReply, error: ApiError): FastifyReply {
  for (const [name, value] of Object.entries(error.headers)) reply.header(name, value);
  return reply
    .code(error.status)
    .type("application/problem+json")
    .send(JSON.stringify(toProblem(error, request.url, String(request.id))));
}

/**
 * Every error answers as problem+json with its code. Client errors (4xx) are logged at info with the
 * code only (no message text: it may quote the request); server errors at error with the cause.
 */
export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error, request, reply) => {
    const apiError = asApiError(error);
    if (apiError.status >= 500)
      request.log.error({ err: apiError.cause ?? apiError, code: apiError.code }, "request failed");
    else request.log.info({ code: apiError.code, status: apiError.status }, "request refused");
    return sendProblem(request, reply, apiError);
  });
  app.setNotFoundHandler((request, reply) => {
    const error = new ApiError("ROUTE_NOT_FOUND", `no route ${request.method} ${request.url.split("?")[0]}`);
    request.log.info({ code: error.code, status: error.status }, "request refused");
    return sendProblem(request, reply, error);
  });
}
