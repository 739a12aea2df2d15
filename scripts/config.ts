import path from "node:path";
import { fileURLToPath } from "node:url";
import { CLIENT_IDS, REALM_NAME, REPORTS_API_AUDIENCE } from "../keycloak/realm.js";

/**
 * Configuration of the operator CLI (scripts/cli.ts): read from the environment once, here and
 * nowhere else. Every value has a documented default that matches `npm run stack -- up`.
 */
export interface PgEndpoint {
  host: string;
  port: number;
  user: string;
  /** Non-enumerable on the returned object so it never lands in a log line or JSON dump. */
  password?: string;
}

/**
 * Where the realm `bionicpro` lives and how its tokens look: what the reports API verifies, the
 * BFF logs in with, and the tests ask for. The base URL is also the native Keycloak's pinned
 * `--hostname`: the issuer of every token is built from it, so use this one address everywhere.
 */
export interface KeycloakConfig {
  /** @default http://127.0.0.1:18080 (KEYCLOAK_URL names an external Keycloak; else BIONICPRO_KEYCLOAK_PORT) */
  url: string;
  /** @default bionicpro */
  realm: string;
  /** `iss` of every token: `<url>/realms/<realm>`. */
  issuer: string;
  /** The realm's signing keys (RS256, `kid` per key). */
  jwksUrl: string;
  authorizationUrl: string;
  tokenUrl: string;
  endSessionUrl: string;
  /** Every access token's `aud` contains it. @default reports-api */
  audience: string;
  clients: typeof CLIENT_IDS;
  /**
   * Secret of the confidential `reports-bff` client. Non-enumerable (never logged).
   * @default the realm file's demo secret (KEYCLOAK_BFF_CLIENT_SECRET overrides it for another Keycloak)
   */
  bffClientSecret: string;
}

/** The realm file's demo secret of `reports-bff`: a demo value, not a secret. */
export const DEMO_BFF_CLIENT_SECRET = "bionicpro-bff-demo-secret";

export function loadKeycloakConfig(env: NodeJS.ProcessEnv = process.env): KeycloakConfig {
  const port = intFrom("BIONICPRO_KEYCLOAK_PORT", env.BIONICPRO_KEYCLOAK_PORT, 18080);
  const url = (env.KEYCLOAK_URL || `http://127.0.0.1:${port}`).replace(/\/+$/, "");
  const issuer = `${url}/realms/${REALM_NAME}`;
  const oidc = `${issuer}/protocol/openid-connect`;
  const config = {
    url,
    realm: REALM_NAME,
    issuer,
    jwksUrl: `${oidc}/certs`,
    authorizationUrl: `${oidc}/auth`,
    tokenUrl: `${oidc}/token`,
    endSessionUrl: `${oidc}/logout`,
    audience: REPORTS_API_AUDIENCE,
    clients: CLIENT_IDS,
  } as KeycloakConfig;
  Object.defineProperty(config, "bffClientSecret", {
    value: env.KEYCLOAK_BFF_CLIENT_SECRET || DEMO_BFF_CLIENT_SECRET,
    enumerable: false,
  });
  return config;
}

export interface ScriptsConfig {
  /** Root of everything the project downloads or runs (ignored by git). @default <repo>/.state */
  stateDir: string;
  pg: PgEndpoint;
  /** @default crm_db */
  crmDb: string;
  /** @default telemetry_db */
  telemetryDb: string;
  /** @default ["127.0.0.1:19092"] */
  kafkaBrokers: string[];
  /** Kafka Connect REST. @default http://127.0.0.1:18083 */
  connectUrl: string;
  /** Schema registry, Confluent-compatible API. @default http://127.0.0.1:18081/apis/ccompat/v7 */
  registryUrl: string;
  /** Topics are `<topicPrefix>.<crm|telemetry>.<table>`. @default bionicpro */
  topicPrefix: string;
  /** The consumers' dead-letter topic (same variable and default as consumers/src/config.ts). @default <topicPrefix>.dlq (DLQ_TOPIC) */
  dlqTopic: string;
  keycloak: KeycloakConfig;
  /**
   * The same services as Kafka Connect reaches them (differs from ours inside docker compose,
   * where Connect talks to `postgres:5432` and `registry:8080`).
   */
  connectView: {
    /** @default the pg host */
    pgHost: string;
    /** @default the pg port */
    pgPort: number;
    /** Apicurio v2 API for the Avro converter. @default the registry host with /apis/registry/v2 */
    registryUrl: string;
  };
}

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

function intFrom(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined || value === "") return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed <= 0 || parsed > 65535) {
    throw new Error(`${name} must be a port number (1-65535), got "${value}"`);
  }
  return parsed;
}

export function pgEndpoint(host: string, port: number, user: string, password?: string): PgEndpoint {
  const endpoint: PgEndpoint = { host, port, user };
  if (password !== undefined)
    Object.defineProperty(endpoint, "password", { value: password, enumerable: false });
  return endpoint;
}

export function loadScriptsConfig(env: NodeJS.ProcessEnv = process.env): ScriptsConfig {
  const stateDir = path.resolve(env.BIONICPRO_STATE_DIR ?? path.join(repoRoot, ".state"));
  const kafkaPort = intFrom("BIONICPRO_KAFKA_PORT", env.BIONICPRO_KAFKA_PORT, 19092);
  const connectPort = intFrom("BIONICPRO_CONNECT_PORT", env.BIONICPRO_CONNECT_PORT, 18083);
  const registryPort = intFrom("BIONICPRO_REGISTRY_PORT", env.BIONICPRO_REGISTRY_PORT, 18081);
  const pg = pgEndpoint(
    env.PGHOST ?? "127.0.0.1",
    intFrom("PGPORT", env.PGPORT, 55432),
    env.PGUSER ?? "postgres",
    env.PGPASSWORD,
  );
  const registryUrl = env.SCHEMA_REGISTRY_URL ?? `http://127.0.0.1:${registryPort}/apis/ccompat/v7`;
  const topicPrefix = env.TOPIC_PREFIX ?? "bionicpro";
  return {
    stateDir,
    pg,
    crmDb: env.CRM_DB ?? "crm_db",
    telemetryDb: env.TELEMETRY_DB ?? "telemetry_db",
    kafkaBrokers: (env.KAFKA_BROKERS ?? `127.0.0.1:${kafkaPort}`).split(",").map((b) => b.trim()),
    connectUrl: env.CONNECT_URL ?? `http://127.0.0.1:${connectPort}`,
    registryUrl,
    topicPrefix,
    dlqTopic: env.DLQ_TOPIC || `${topicPrefix}.dlq`,
    keycloak: loadKeycloakConfig(env),
    connectView: {
      pgHost: env.CONNECT_PG_HOST ?? pg.host,
      pgPort: intFrom("CONNECT_PG_PORT", env.CONNECT_PG_PORT, pg.port),
      registryUrl:
        env.CONNECT_REGISTRY_URL ?? registryUrl.replace(/\/apis\/ccompat\/v7\/?$/, "/apis/registry/v2"),
    },
  };
}

/** An integer setting from the environment: `fallback` when unset or blank, else in min..max or an error naming it. */
export function intInRange(
  name: string,
  value: string | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined || value.trim() === "") return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < min || parsed > max)
    throw new Error(`${name} must be an integer in ${min}..${max}, got "${value}"`);
  return parsed;
}
