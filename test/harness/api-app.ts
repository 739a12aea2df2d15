import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { ClickHouseClient } from "@clickhouse/client";
import type { FastifyInstance } from "fastify";
import { buildApp } from "../../api/app.js";
import { createTokenVerifier, keyStoreFor } from "../../api/auth/verifier.js";
import { loadApiConfig, type ApiConfig } from "../../api/config.js";
import type { ConsumerStatusProvider } from "../../api/consumer-status.js";
import type { OidcRelyingParty } from "../../api/bff/oidc.js";
import type { AppliedChunkSource } from "../../api/live/sources.js";
import { createClickHouseClient, openClickHouseSession } from "../../clickhouse/client.js";
import { freshAfterFailure } from "../../clickhouse/fresh-session.js";
import { migrate } from "../../clickhouse/migrate.js";
import type { ChangeFeed } from "./change-feed.js";
import { TestIssuer } from "./jwt-issuer.js";
import { fixtureClock, loadReportFixture } from "./report-fixture.js";

/**
 * The API over embedded ClickHouse in a temporary directory, filled with the report fixture through
 * the real write path, and a local JWKS server: what the API tests inject() against. The writer
 * client plays the consumers' connection; the app gets a second client on the same directory.
 */
export interface TestApi {
  app: FastifyInstance;
  issuer: TestIssuer;
  config: ApiConfig;
  database: string;
  /** The consumers' connection (writes). */
  writer: ClickHouseClient;
  /** The API's own connection (reads; a new session after a failed statement, as in startApi). */
  reader: ClickHouseClient;
  feed: ChangeFeed;
  /** Every log line the app wrote so far, parsed. */
  logs(): Record<string, unknown>[];
  /** The raw log text. */
  logText: () => string;
  /** Another app on the same data directory and issuer with other settings (one chDB dir per process). */
  variant(
    env: Record<string, string>,
    options?: Pick<TestApiOptions, "clock" | "keyClock" | "consumerStatus">,
  ): Promise<FastifyInstance>;
  close(): Promise<void>;
}

export interface TestApiOptions {
  env?: Record<string, string>;
  clock?: () => Date;
  /** Clock of the JWKS refetch limiter. */
  keyClock?: () => number;
  consumerStatus?: ConsumerStatusProvider;
  /** Load the report fixture (default true). */
  fixture?: boolean;
  /** Apply migrations (default true). */
  migrate?: boolean;
  /** The BFF's relying party (a fake: unit tests have no Keycloak). */
  oidc?: OidcRelyingParty;
  /** What drives the live stream (default: the progress table is polled). */
  appliedChunks?: AppliedChunkSource;
}

export async function startTestApi(options: TestApiOptions = {}): Promise<TestApi> {
  const dir = mkdtempSync(path.join(tmpdir(), "bionicpro-api-"));
  const database = "api_test";
  const issuer = await new TestIssuer().start();
  const baseEnv = {
    CLICKHOUSE_PATH: dir,
    CLICKHOUSE_DATABASE: database,
    BIONICPRO_API_ISSUER: issuer.issuer,
    BIONICPRO_API_PORT: "0",
    BIONICPRO_API_LOG_LEVEL: "info",
  };
  const config = loadApiConfig({ ...baseEnv, ...options.env });
  const writer = createClickHouseClient({ path: dir, database });
  const reader = freshAfterFailure(() => createClickHouseClient({ path: dir, database }));
  const feed =
    options.migrate === false
      ? null
      : await migrate(writer, database).then(() =>
          options.fixture === false ? null : loadReportFixture(writer, database),
        );
  const lines: string[] = [];
  const variants: FastifyInstance[] = [];
  const build = (appConfig: ApiConfig, opts: Pick<TestApiOptions, "clock" | "keyClock" | "consumerStatus">) =>
    buildApp({
      clickhouse: {
        client: reader,
        database,
        openSqlClient: () => openClickHouseSession({ path: dir, database }),
      },
      auth: createTokenVerifier(appConfig.auth, keyStoreFor(appConfig.auth, opts.keyClock)),
      clock: opts.clock ?? (() => fixtureClock),
      config: appConfig,
      consumerStatus: opts.consumerStatus,
      logStream: { write: (line) => void lines.push(line) },
      oidc: options.oidc,
      appliedChunks: options.appliedChunks,
    });
  const app = await build(config, options);
  return {
    app,
    issuer,
    config,
    database,
    writer,
    reader,
    feed: feed as ChangeFeed,
    logs: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>),
    logText: () => lines.join(""),
    variant: async (env, opts = {}) => {
      const variantConfig = loadApiConfig({ ...baseEnv, ...options.env, ...env });
      const built = await build(variantConfig, opts);
      variants.push(built);
      return built;
    },
    close: async () => {
      for (const variant of variants) await variant.close();
      await app.close();
      await reader.close();
      await writer.close();
      await issuer.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
