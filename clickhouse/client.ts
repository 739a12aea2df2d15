import { createClient, type ClickHouseClient } from "@clickhouse/client";
import { createChdbConnection } from "chdb/connection";
import { assertDatabaseName, bindParams } from "./sql.js";

type EmbeddedConnection = NonNullable<NonNullable<Parameters<typeof createClient>[0]>["connection"]>;

export interface ClickHouseOptions {
  /** ClickHouse server over HTTP; wins over `path` when both are given. */
  url?: string;
  /** Data directory of the embedded engine (chdb). One process may open a directory at a time. */
  path?: string;
  /** Database holding the marts. Every statement names it explicitly (see below). */
  database: string;
  /**
   * Embedded engine only: render query parameters as typed literals in this process (`bindParams`)
   * instead of chDB's binding, whose bound statements run one at a time process-wide. For clients
   * that run this project's own SQL only (the API's report reads). @default false
   */
  bindParamsInProcess?: boolean;
}

type ParamsOf = { query: string; query_params?: Record<string, unknown> };

/** The embedded connection with `query_params` rendered into the SQL text (see bindParamsInProcess). */
function bindingInProcess(connection: EmbeddedConnection): EmbeddedConnection {
  const render = <P extends ParamsOf>(params: P): P =>
    params.query_params && Object.keys(params.query_params).length > 0
      ? { ...params, query: bindParams(params.query, params.query_params), query_params: undefined }
      : params;
  const rendered = new Set<PropertyKey>(["query", "exec", "command"]);
  return new Proxy(connection, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== "function") return value;
      const method = value as (params: ParamsOf) => unknown;
      return rendered.has(property)
        ? (params: ParamsOf) => method.call(target, render(params))
        : method.bind(target);
    },
  });
}

/**
 * A @clickhouse/client for a server (`url`) or the embedded engine (`path`). The embedded connection
 * ignores the client's default database, so the client is created without one in both modes and all
 * SQL of this project qualifies its tables with the database: the same statements run unchanged
 * against either backend.
 */
export function createClickHouseClient(options: ClickHouseOptions): ClickHouseClient {
  assertDatabaseName(options.database);
  if (options.url) return createClient({ url: options.url, request_timeout: 300_000 });
  if (!options.path) throw new Error("ClickHouse options need a url (server) or a path (embedded chdb)");
  // chdb types its Connection against @clickhouse/client-common, which @clickhouse/client bundles
  // as its own copy: structurally the same interface, nominally two declarations.
  const connection = createChdbConnection({ path: options.path }) as unknown as EmbeddedConnection;
  return createClient({
    connection: options.bindParamsInProcess ? bindingInProcess(connection) : connection,
  });
}

/**
 * A client whose unqualified table names resolve in `options.database`: for SQL written by people
 * (the API's ML endpoint), never for this project's own statements, which always qualify their
 * tables. A server takes the database with every request; the embedded engine as a session `USE`
 * (so the database must exist: open this after the migrations ran).
 */
export async function openClickHouseSession(options: ClickHouseOptions): Promise<ClickHouseClient> {
  const database = assertDatabaseName(options.database);
  if (options.url) return createClient({ url: options.url, database, request_timeout: 300_000 });
  const client = createClickHouseClient(options);
  try {
    await client.command({ query: `USE ${database}` });
  } catch (error) {
    await client.close();
    throw error;
  }
  return client;
}
