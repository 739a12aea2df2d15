import { loadClickHouseConfig } from "../clickhouse/config.js";
import { randomBytes } from "node:crypto";
import { intInRange as int, loadKeycloakConfig } from "../scripts/config.js";
import type { ClickHouseOptions } from "../clickhouse/client.js";

/**
 * Configuration of the API process, read from the environment once, here and nowhere else.
 * Every value is validated; a bad one stops the process with the variable's name.
 */
export interface ApiConfig {
  /** @default 127.0.0.1 (BIONICPRO_API_HOST) */
  host: string;
  /** @default 18000 (BIONICPRO_API_PORT; 0 = any free port) */
  port: number;
  /** Marts: a server (CLICKHOUSE_URL) or the embedded data dir (CLICKHOUSE_PATH); see clickhouse/config.ts. */
  clickhouse: ClickHouseOptions;
  /**
   * Embedded engine only: chDB connections the report reads are spread over (clickhouse/client.ts
   * `connections`): with one, a user's first read waited for every other user's. @default 2
   * (BIONICPRO_API_CLICKHOUSE_CONNECTIONS, 1-16)
   */
  reportConnections: number;
  auth: AuthConfig;
  /** The dashboard origin allowed by CORS; null = no cross-origin access. @default null (BIONICPRO_API_CORS_ORIGIN) */
  corsOrigin: string | null;
  rateLimit: RateLimitConfig;
  sql: SqlLimits;
  /** Behind a reverse proxy (the BFF): take the client address from X-Forwarded-For. @default false (BIONICPRO_API_TRUST_PROXY) */
  trustProxy: boolean;
  stream: StreamConfig;
  cache: CacheConfig;
  bff: BffConfig;
  metrics: ApiMetricsConfig;
  /** pino level. @default info (BIONICPRO_API_LOG_LEVEL) */
  logLevel: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
}

export interface AuthConfig {
  /**
   * Expected `iss`, exactly. @default the project's Keycloak realm: `<KEYCLOAK_URL or
   * http://127.0.0.1:BIONICPRO_KEYCLOAK_PORT>/realms/bionicpro` (BIONICPRO_API_ISSUER overrides)
   */
  issuer: string;
  /** Required member of `aud`. @default reports-api (BIONICPRO_API_AUDIENCE) */
  audience: string;
  /** Accepted signature algorithms; none and HS* are refused. @default ["RS256"] (BIONICPRO_API_ALGORITHMS, comma separated) */
  algorithms: AsymmetricAlgorithm[];
  /** Tolerance for exp / nbf. @default 5 (BIONICPRO_API_CLOCK_SKEW_S, 0-300) */
  clockSkewSeconds: number;
  /** Where the keys come from: never a URL taken from a token. @default <issuer>/protocol/openid-connect/certs (BIONICPRO_API_JWKS_URL) */
  jwksUrl: string;
  /** A kid never seen before triggers at most one JWKS refetch per this interval. @default 10000 (BIONICPRO_API_JWKS_REFETCH_MS) */
  jwksRefetchIntervalMs: number;
  /** How long fetched keys are cached. @default 600000 (BIONICPRO_API_JWKS_CACHE_MS) */
  jwksCacheMs: number;
  /** @default 5000 (BIONICPRO_API_JWKS_TIMEOUT_MS) */
  jwksTimeoutMs: number;
}

/** GET /metrics: Prometheus text format, outside the JWT auth (docs/metrics-and-logs.md). */
export interface ApiMetricsConfig {
  /** Serve GET /metrics and measure every request. @default true (BIONICPRO_API_METRICS) */
  enabled: boolean;
  /** Scrapes must send `Authorization: Bearer <token>`; null = open. Non-enumerable. @default null (BIONICPRO_METRICS_TOKEN) */
  token: string | null;
  /** A collector reading ClickHouse (freshness) gives up after this. @default 2000 (METRICS_COLLECT_TIMEOUT_MS) */
  collectTimeoutMs: number;
}

/** GET /api/reports/stream (api/live). */
/** The report cache (api/reports/cache.ts): used only with the consumers in this process (embedded default). */
export interface CacheConfig {
  /** @default true (BIONICPRO_API_REPORT_CACHE) */
  enabled: boolean;
  /** Kept reads (per user and report), least recently used dropped first. @default 50000 (BIONICPRO_API_REPORT_CACHE_ENTRIES) */
  maxEntries: number;
  /** data_as_of is kept at most this long without a chunk. @default 1000 (BIONICPRO_API_FRESHNESS_MAX_AGE_MS) */
  freshnessMaxAgeMs: number;
}

export interface StreamConfig {
  /** A comment line this often keeps idle connections open. @default 15000 (BIONICPRO_API_STREAM_HEARTBEAT_MS) */
  heartbeatMs: number;
  /** The `retry:` the browser waits before reconnecting. @default 2000 (BIONICPRO_API_STREAM_RETRY_MS) */
  retryMs: number;
  /** Bytes waiting for one slow client before it is dropped. @default 1048576 (BIONICPRO_API_STREAM_MAX_BUFFER_BYTES) */
  maxBufferedBytes: number;
  /** Open streams per process; more are refused with 503 STREAM_LIMIT_REACHED. @default 1000 (BIONICPRO_API_STREAM_MAX_CONNECTIONS) */
  maxConnections: number;
  /** data_as_of is read this often while streams are open; server mode polls progress as often. @default 1000 (BIONICPRO_API_STREAM_POLL_MS) */
  pollMs: number;
}

/** The BFF (api/bff) in front of the dashboard: Keycloak login through the confidential client. */
export interface BffConfig {
  /** Serve /bff/* and the dashboard. @default true (BIONICPRO_BFF_ENABLED) */
  enabled: boolean;
  /** The realm's issuer (discovery at <issuer>/.well-known/openid-configuration). @default the API's issuer */
  issuer: string;
  /** @default reports-bff (the realm's confidential client; KEYCLOAK_BFF_CLIENT_ID names another) */
  clientId: string;
  /** Non-enumerable: never logged. @default KEYCLOAK_BFF_CLIENT_SECRET or the realm file's demo secret */
  clientSecret: string;
  /**
   * Where the browser reaches this app (origin of the redirect URI <publicUrl>/bff/callback and the
   * post-logout redirect). null = taken from the request's Host (only loopback hosts are accepted
   * then). @default null (BIONICPRO_BFF_PUBLIC_URL)
   */
  publicUrl: string | null;
  /**
   * Signs the session cookie; at least 32 characters. @default a random value per process (sessions
   * live in this process's memory anyway) (BIONICPRO_BFF_SESSION_SECRET)
   */
  sessionSecret: string;
  /** Sessions kept at most; the least recently used goes first. @default 10000 (BIONICPRO_BFF_MAX_SESSIONS) */
  maxSessions: number;
  /** A session unused this long ends (Keycloak's SSO idle is 30 min). @default 1800000 (BIONICPRO_BFF_SESSION_IDLE_MS) */
  sessionIdleMs: number;
  /** A session ends this long after login, used or not (Keycloak's SSO max is 10 h). @default 36000000 (BIONICPRO_BFF_SESSION_MAX_MS) */
  sessionMaxMs: number;
  /** Tokens are refreshed when they expire within this. @default 30000 (BIONICPRO_BFF_REFRESH_BEFORE_MS) */
  refreshBeforeMs: number;
  /** A login must come back within this. @default 600000 (BIONICPRO_BFF_LOGIN_TIMEOUT_MS) */
  loginTimeoutMs: number;
}

export interface RateLimitConfig {
  /** Requests per window per token subject (per client address without a valid token). @default 300 (BIONICPRO_API_RATE_LIMIT_MAX) */
  max: number;
  /** @default 60000 (BIONICPRO_API_RATE_LIMIT_WINDOW_MS) */
  windowMs: number;
  /** POST /api/sql per subject and window. @default 30 (BIONICPRO_API_SQL_RATE_LIMIT_MAX) */
  sqlMax: number;
}

export interface SqlLimits {
  /** ClickHouse max_execution_time. @default 10 (BIONICPRO_API_SQL_MAX_EXECUTION_S) */
  maxExecutionSeconds: number;
  /** ClickHouse max_result_rows (result_overflow_mode = throw). @default 100000 (BIONICPRO_API_SQL_MAX_RESULT_ROWS) */
  maxResultRows: number;
  /** ClickHouse max_memory_usage per query. @default 1000000000 (BIONICPRO_API_SQL_MAX_MEMORY_BYTES) */
  maxMemoryBytes: number;
  /** Longest accepted query text in characters. @default 20000 (BIONICPRO_API_SQL_MAX_QUERY_CHARS) */
  maxQueryChars: number;
}

export const asymmetricAlgorithms = [
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
  "EdDSA",
] as const;
export type AsymmetricAlgorithm = (typeof asymmetricAlgorithms)[number];

const logLevels = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

export const defaultApiPort = 18000;

function httpUrl(name: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`${name} must be an http(s) URL, got "${value}"`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw new Error(`${name} must be an http(s) URL, got "${value}"`);
  return value;
}

function algorithms(value: string | undefined): AsymmetricAlgorithm[] {
  const names = (value ?? "RS256")
    .split(",")
    .map((a) => a.trim())
    .filter((a) => a !== "");
  const bad = names.find((a) => !(asymmetricAlgorithms as readonly string[]).includes(a));
  if (names.length === 0 || bad !== undefined)
    throw new Error(
      `BIONICPRO_API_ALGORITHMS must list asymmetric JWS algorithms (${asymmetricAlgorithms.join(", ")}); "${bad ?? ""}" is not one (none and HS* are never accepted)`,
    );
  return names as AsymmetricAlgorithm[];
}

function bool(name: string, value: string | undefined): boolean {
  if (value === undefined || value === "") return false;
  if (["1", "true", "yes"].includes(value.toLowerCase())) return true;
  if (["0", "false", "no"].includes(value.toLowerCase())) return false;
  throw new Error(`${name} must be true or false, got "${value}"`);
}

export function loadApiConfig(env: NodeJS.ProcessEnv = process.env): ApiConfig {
  const keycloak = loadKeycloakConfig(env);
  const issuer = httpUrl("BIONICPRO_API_ISSUER", env.BIONICPRO_API_ISSUER?.trim() || keycloak.issuer);
  const level = env.BIONICPRO_API_LOG_LEVEL?.trim() || "info";
  if (!(logLevels as readonly string[]).includes(level))
    throw new Error(`BIONICPRO_API_LOG_LEVEL must be one of ${logLevels.join(", ")}, got "${level}"`);
  const cors = env.BIONICPRO_API_CORS_ORIGIN?.trim();
  return {
    host: env.BIONICPRO_API_HOST?.trim() || "127.0.0.1",
    port: int("BIONICPRO_API_PORT", env.BIONICPRO_API_PORT, defaultApiPort, 0, 65535),
    clickhouse: loadClickHouseConfig(env),
    reportConnections: int(
      "BIONICPRO_API_CLICKHOUSE_CONNECTIONS",
      env.BIONICPRO_API_CLICKHOUSE_CONNECTIONS,
      2,
      1,
      16,
    ),
    auth: {
      issuer,
      audience: env.BIONICPRO_API_AUDIENCE?.trim() || keycloak.audience,
      algorithms: algorithms(env.BIONICPRO_API_ALGORITHMS),
      clockSkewSeconds: int("BIONICPRO_API_CLOCK_SKEW_S", env.BIONICPRO_API_CLOCK_SKEW_S, 5, 0, 300),
      jwksUrl: httpUrl(
        "BIONICPRO_API_JWKS_URL",
        env.BIONICPRO_API_JWKS_URL?.trim() || `${issuer.replace(/\/+$/, "")}/protocol/openid-connect/certs`,
      ),
      jwksRefetchIntervalMs: int(
        "BIONICPRO_API_JWKS_REFETCH_MS",
        env.BIONICPRO_API_JWKS_REFETCH_MS,
        10_000,
        0,
        3_600_000,
      ),
      jwksCacheMs: int(
        "BIONICPRO_API_JWKS_CACHE_MS",
        env.BIONICPRO_API_JWKS_CACHE_MS,
        600_000,
        1000,
        86_400_000,
      ),
      jwksTimeoutMs: int(
        "BIONICPRO_API_JWKS_TIMEOUT_MS",
        env.BIONICPRO_API_JWKS_TIMEOUT_MS,
        5000,
        100,
        60_000,
      ),
    },
    corsOrigin: cors ? new URL(httpUrl("BIONICPRO_API_CORS_ORIGIN", cors)).origin : null,
    rateLimit: {
      max: int("BIONICPRO_API_RATE_LIMIT_MAX", env.BIONICPRO_API_RATE_LIMIT_MAX, 300, 1, 1_000_000),
      windowMs: int(
        "BIONICPRO_API_RATE_LIMIT_WINDOW_MS",
        env.BIONICPRO_API_RATE_LIMIT_WINDOW_MS,
        60_000,
        1000,
        86_400_000,
      ),
      sqlMax: int("BIONICPRO_API_SQL_RATE_LIMIT_MAX", env.BIONICPRO_API_SQL_RATE_LIMIT_MAX, 30, 1, 1_000_000),
    },
    sql: {
      maxExecutionSeconds: int(
        "BIONICPRO_API_SQL_MAX_EXECUTION_S",
        env.BIONICPRO_API_SQL_MAX_EXECUTION_S,
        10,
        1,
        3600,
      ),
      maxResultRows: int(
        "BIONICPRO_API_SQL_MAX_RESULT_ROWS",
        env.BIONICPRO_API_SQL_MAX_RESULT_ROWS,
        100_000,
        1,
        100_000_000,
      ),
      maxMemoryBytes: int(
        "BIONICPRO_API_SQL_MAX_MEMORY_BYTES",
        env.BIONICPRO_API_SQL_MAX_MEMORY_BYTES,
        1_000_000_000,
        10_000_000,
        1_000_000_000_000,
      ),
      maxQueryChars: int(
        "BIONICPRO_API_SQL_MAX_QUERY_CHARS",
        env.BIONICPRO_API_SQL_MAX_QUERY_CHARS,
        20_000,
        10,
        1_000_000,
      ),
    },
    trustProxy: bool("BIONICPRO_API_TRUST_PROXY", env.BIONICPRO_API_TRUST_PROXY),
    stream: {
      heartbeatMs: int(
        "BIONICPRO_API_STREAM_HEARTBEAT_MS",
        env.BIONICPRO_API_STREAM_HEARTBEAT_MS,
        15_000,
        100,
        600_000,
      ),
      retryMs: int("BIONICPRO_API_STREAM_RETRY_MS", env.BIONICPRO_API_STREAM_RETRY_MS, 2000, 0, 600_000),
      maxBufferedBytes: int(
        "BIONICPRO_API_STREAM_MAX_BUFFER_BYTES",
        env.BIONICPRO_API_STREAM_MAX_BUFFER_BYTES,
        1_048_576,
        1024,
        1_073_741_824,
      ),
      maxConnections: int(
        "BIONICPRO_API_STREAM_MAX_CONNECTIONS",
        env.BIONICPRO_API_STREAM_MAX_CONNECTIONS,
        1000,
        1,
        1_000_000,
      ),
      pollMs: int("BIONICPRO_API_STREAM_POLL_MS", env.BIONICPRO_API_STREAM_POLL_MS, 1000, 50, 60_000),
    },
    cache: {
      enabled:
        env.BIONICPRO_API_REPORT_CACHE === undefined
          ? true
          : bool("BIONICPRO_API_REPORT_CACHE", env.BIONICPRO_API_REPORT_CACHE),
      maxEntries: int(
        "BIONICPRO_API_REPORT_CACHE_ENTRIES",
        env.BIONICPRO_API_REPORT_CACHE_ENTRIES,
        50_000,
        1,
        10_000_000,
      ),
      freshnessMaxAgeMs: int(
        "BIONICPRO_API_FRESHNESS_MAX_AGE_MS",
        env.BIONICPRO_API_FRESHNESS_MAX_AGE_MS,
        1000,
        0,
        60_000,
      ),
    },
    bff: loadBffConfig(env, issuer, keycloak),
    metrics: loadMetricsConfig(env),
    logLevel: level as ApiConfig["logLevel"],
  };
}

function loadMetricsConfig(env: NodeJS.ProcessEnv): ApiMetricsConfig {
  const config: ApiMetricsConfig = {
    enabled:
      env.BIONICPRO_API_METRICS === undefined
        ? true
        : bool("BIONICPRO_API_METRICS", env.BIONICPRO_API_METRICS),
    token: null,
    collectTimeoutMs: int("METRICS_COLLECT_TIMEOUT_MS", env.METRICS_COLLECT_TIMEOUT_MS, 2000, 1, 600_000),
  };
  Object.defineProperty(config, "token", {
    value: env.BIONICPRO_METRICS_TOKEN?.trim() || null,
    enumerable: false,
  });
  return config;
}

function loadBffConfig(
  env: NodeJS.ProcessEnv,
  issuer: string,
  keycloak: ReturnType<typeof loadKeycloakConfig>,
): BffConfig {
  const publicUrl = env.BIONICPRO_BFF_PUBLIC_URL?.trim();
  const sessionSecret = env.BIONICPRO_BFF_SESSION_SECRET?.trim() || randomBytes(32).toString("base64url");
  if (sessionSecret.length < 32)
    throw new Error(
      "BIONICPRO_BFF_SESSION_SECRET must be at least 32 characters (or unset: a random one per process)",
    );
  const config: BffConfig = {
    enabled:
      env.BIONICPRO_BFF_ENABLED === undefined
        ? true
        : bool("BIONICPRO_BFF_ENABLED", env.BIONICPRO_BFF_ENABLED),
    issuer,
    clientId: env.KEYCLOAK_BFF_CLIENT_ID || keycloak.clients.bff,
    clientSecret: "",
    publicUrl: publicUrl ? new URL(httpUrl("BIONICPRO_BFF_PUBLIC_URL", publicUrl)).origin : null,
    sessionSecret: "",
    maxSessions: int("BIONICPRO_BFF_MAX_SESSIONS", env.BIONICPRO_BFF_MAX_SESSIONS, 10_000, 1, 10_000_000),
    sessionIdleMs: int(
      "BIONICPRO_BFF_SESSION_IDLE_MS",
      env.BIONICPRO_BFF_SESSION_IDLE_MS,
      1_800_000,
      1000,
      86_400_000,
    ),
    sessionMaxMs: int(
      "BIONICPRO_BFF_SESSION_MAX_MS",
      env.BIONICPRO_BFF_SESSION_MAX_MS,
      36_000_000,
      1000,
      604_800_000,
    ),
    refreshBeforeMs: int(
      "BIONICPRO_BFF_REFRESH_BEFORE_MS",
      env.BIONICPRO_BFF_REFRESH_BEFORE_MS,
      30_000,
      0,
      3_600_000,
    ),
    loginTimeoutMs: int(
      "BIONICPRO_BFF_LOGIN_TIMEOUT_MS",
      env.BIONICPRO_BFF_LOGIN_TIMEOUT_MS,
      600_000,
      1000,
      3_600_000,
    ),
  };
  // Secrets are non-enumerable: a logged or serialised config never shows them.
  Object.defineProperty(config, "clientSecret", { value: keycloak.bffClientSecret, enumerable: false });
  Object.defineProperty(config, "sessionSecret", { value: sessionSecret, enumerable: false });
  return config;
}
