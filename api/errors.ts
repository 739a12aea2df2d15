/**
 * Every error the API answers with, declared once: a stable code, its HTTP status and a title.
 * Responses are RFC 9457 problem documents (`application/problem+json`); clients branch on `code`,
 * never on `title` or `detail`. docs/api.md lists the same table.
 */
export const errorDefinitions = {
  AUTH_TOKEN_MISSING: { status: 401, title: "A bearer token is required" },
  AUTH_TOKEN_MALFORMED: { status: 401, title: "The bearer token is not a well-formed JWT" },
  AUTH_TOKEN_ALGORITHM: { status: 401, title: "The token's signature algorithm is not accepted" },
  AUTH_TOKEN_SIGNATURE: { status: 401, title: "The token's signature does not verify" },
  AUTH_TOKEN_EXPIRED: { status: 401, title: "The token has expired" },
  AUTH_TOKEN_NOT_YET_VALID: { status: 401, title: "The token is not valid yet" },
  AUTH_TOKEN_ISSUER: { status: 401, title: "The token comes from an issuer this API does not trust" },
  AUTH_TOKEN_AUDIENCE: { status: 401, title: "The token is not meant for this API" },
  AUTH_TOKEN_UNKNOWN_KEY: { status: 401, title: "The token is signed with an unknown key" },
  AUTH_TOKEN_CLAIMS: { status: 401, title: "The token lacks a required claim or has an invalid one" },
  AUTH_KEYS_UNAVAILABLE: { status: 503, title: "The identity provider's signing keys cannot be fetched" },
  FORBIDDEN_ROLE: { status: 403, title: "The caller's roles do not allow this request" },
  CRM_USER_MISSING: { status: 403, title: "The token names no CRM user" },
  USER_ID_REQUIRED: { status: 400, title: "Staff requests must name the user" },
  USER_NOT_FOUND: { status: 404, title: "No such user" },
  INVALID_MONTH: { status: 400, title: "Invalid month" },
  INVALID_DATE: { status: 400, title: "Invalid date" },
  INVALID_USER_ID: { status: 400, title: "Invalid user id" },
  INVALID_PAGINATION: { status: 400, title: "Invalid limit or cursor" },
  UNKNOWN_PARAMETER: { status: 400, title: "Unknown parameter" },
  INVALID_REQUEST: { status: 400, title: "Invalid request" },
  ROUTE_NOT_FOUND: { status: 404, title: "No such route" },
  NOT_ACCEPTABLE: { status: 406, title: "None of the accepted media types can be produced" },
  PAYLOAD_TOO_LARGE: { status: 413, title: "Request body too large" },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: "Unsupported request media type" },
  RATE_LIMITED: { status: 429, title: "Too many requests" },
  SQL_SYNTAX_ERROR: { status: 400, title: "The SQL does not parse" },
  SQL_MULTIPLE_STATEMENTS: { status: 400, title: "Only one statement per request" },
  SQL_NOT_SELECT: { status: 400, title: "Only SELECT queries are allowed" },
  SQL_CLAUSE_NOT_ALLOWED: { status: 400, title: "FORMAT, INTO OUTFILE and SETTINGS are not allowed" },
  SQL_QUERY_TOO_LONG: { status: 400, title: "The SQL text is too long" },
  SQL_FORBIDDEN_RELATION: { status: 403, title: "Only the ml_* views and the mart tables may be read" },
  SQL_TABLE_FUNCTION: { status: 403, title: "Table functions are not allowed" },
  SQL_FORBIDDEN_FUNCTION: { status: 403, title: "This function is not allowed" },
  SQL_READ_ONLY: { status: 403, title: "The query needs more than read-only access" },
  SQL_LIMIT_EXCEEDED: { status: 422, title: "The query exceeded a resource limit" },
  SQL_QUERY_FAILED: { status: 400, title: "ClickHouse rejected the query" },
  CLICKHOUSE_UNAVAILABLE: { status: 503, title: "ClickHouse is unavailable" },
  STREAM_LIMIT_REACHED: { status: 503, title: "Too many live streams are open" },
  SESSION_REQUIRED: { status: 401, title: "Log in first" },
  SESSION_EXPIRED: { status: 401, title: "The session has expired; log in again" },
  CSRF_TOKEN_INVALID: { status: 403, title: "Missing or invalid CSRF token" },
  LOGIN_FAILED: { status: 400, title: "The login could not be completed" },
  IDENTITY_PROVIDER_UNAVAILABLE: { status: 503, title: "The identity provider cannot be reached" },
  METRICS_TOKEN_INVALID: { status: 401, title: "The metrics bearer token is missing or wrong" },
  INTERNAL_ERROR: { status: 500, title: "Internal error" },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof errorDefinitions;
export const errorCodes = Object.keys(errorDefinitions) as ErrorCode[];

/** The `type` URI of a problem: a tag URI (RFC 4151) per code, documented in docs/api.md. */
export const problemType = (code: ErrorCode): string => `tag:bionicpro.ru,2026:problem:${code}`;

export class ApiError extends Error {
  readonly status: number;
  readonly title: string;
  readonly headers: Record<string, string>;
  readonly extensions: Record<string, unknown>;

  constructor(
    readonly code: ErrorCode,
    readonly detail: string,
    options: {
      cause?: unknown;
      /** Response headers, e.g. WWW-Authenticate. */
      headers?: Record<string, string>;
      /** Extra problem members, e.g. the failing parameters. */
      extensions?: Record<string, unknown>;
    } = {},
  ) {
    super(detail, { cause: options.cause });
    this.name = "ApiError";
    this.status = errorDefinitions[code].status;
    this.title = errorDefinitions[code].title;
    this.headers = options.headers ?? {};
    this.extensions = options.extensions ?? {};
  }
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  code: ErrorCode;
  request_id: string;
  [extension: string]: unknown;
}

export function toProblem(error: ApiError, instance: string, requestId: string): Problem {
  return {
    type: problemType(error.code),
    title: error.title,
    status: error.status,
    detail: error.detail,
    instance,
    code: error.code,
    request_id: requestId,
    ...error.extensions,
  };
}
