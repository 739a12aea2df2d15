import { loadScriptsConfig, type ScriptsConfig } from "../config.js";

/** Ports and runtime knobs of the native stack; environment read here only. */
export interface StackConfig extends ScriptsConfig {
  ports: {
    /** @default 55432 (PGPORT) */
    postgres: number;
    /** @default 19092 */
    kafka: number;
    /** KRaft controller listener. @default 19093 */
    kafkaController: number;
    /** @default 18083 */
    connect: number;
    /** @default 18081 */
    registry: number;
    /** Apicurio (Quarkus) management interface with /q/health. @default 18091 */
    registryManagement: number;
    /** Keycloak HTTP; also its pinned hostname http://127.0.0.1:<port>. @default 18080 */
    keycloak: number;
    /** Keycloak management interface with /health/ready (Keycloak's default, 9000, is often taken). @default 18090 */
    keycloakManagement: number;
  };
  /**
   * Keycloak's bootstrap admin (master realm), created on its first start and used by `stack up`
   * to apply the realm file. The password is non-enumerable. Demo values, not secrets.
   * @default admin / admin (BIONICPRO_KEYCLOAK_ADMIN, BIONICPRO_KEYCLOAK_ADMIN_PASSWORD)
   */
  keycloakAdmin: { username: string; password?: string };
  /** JDK home for Apicurio Registry 3 (needs Java 21+). @default first JDK >= 21 under /usr/lib/jvm */
  java21Home: string | undefined;
  /**
   * Partitions of every CDC topic. @default 1: on one machine every partition costs the embedded
   * consumer one chunk (a few ClickHouse inserts) per flush round, so fewer partitions mean fresher
   * marts (bench/results: p50 3.3 s with 3, 1.5 s with 1). Raise it with more consumer instances (server mode).
   */
  topicPartitions: number;
  /** retention.ms of fact topics (-1 = keep forever, so replay can start from earliest). @default -1 */
  factRetentionMs: number;
  /** Seconds to wait for each component's health check. @default 180 */
  healthTimeoutS: number;
}

function int(name: string, value: string | undefined, fallback: number, min = 1): number {
  if (value === undefined || value === "") return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < min)
    throw new Error(`${name} must be an integer >= ${min}, got "${value}"`);
  return parsed;
}

export function loadStackConfig(env: NodeJS.ProcessEnv = process.env): StackConfig {
  const base = loadScriptsConfig(env);
  const kafka = int("BIONICPRO_KAFKA_PORT", env.BIONICPRO_KAFKA_PORT, 19092);
  const keycloakAdmin = { username: env.BIONICPRO_KEYCLOAK_ADMIN || "admin" };
  Object.defineProperty(keycloakAdmin, "password", {
    value: env.BIONICPRO_KEYCLOAK_ADMIN_PASSWORD || "admin",
    enumerable: false,
  });
  return {
    ...base,
    pg: base.pg,
    ports: {
      postgres: base.pg.port,
      kafka,
      kafkaController: int("BIONICPRO_KAFKA_CONTROLLER_PORT", env.BIONICPRO_KAFKA_CONTROLLER_PORT, kafka + 1),
      connect: int("BIONICPRO_CONNECT_PORT", env.BIONICPRO_CONNECT_PORT, 18083),
      registry: int("BIONICPRO_REGISTRY_PORT", env.BIONICPRO_REGISTRY_PORT, 18081),
      registryManagement: int(
        "BIONICPRO_REGISTRY_MANAGEMENT_PORT",
        env.BIONICPRO_REGISTRY_MANAGEMENT_PORT,
        18091,
      ),
      keycloak: int("BIONICPRO_KEYCLOAK_PORT", env.BIONICPRO_KEYCLOAK_PORT, 18080),
      keycloakManagement: int(
        "BIONICPRO_KEYCLOAK_MANAGEMENT_PORT",
        env.BIONICPRO_KEYCLOAK_MANAGEMENT_PORT,
        18090,
      ),
    },
    keycloakAdmin,
    java21Home: env.BIONICPRO_JAVA21_HOME || undefined,
    topicPartitions: int("BIONICPRO_TOPIC_PARTITIONS", env.BIONICPRO_TOPIC_PARTITIONS, 1),
    factRetentionMs: int("BIONICPRO_FACT_RETENTION_MS", env.BIONICPRO_FACT_RETENTION_MS, -1, -1),
    healthTimeoutS: int("BIONICPRO_HEALTH_TIMEOUT_S", env.BIONICPRO_HEALTH_TIMEOUT_S, 180),
  };
}
