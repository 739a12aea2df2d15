import { createClient, type ClickHouseClient } from "@clickhouse/client";
import { createChdbConnection } from "chdb/connection";
import { assertDatabaseName, bindParams } from "./sql.js";

export type EmbeddedConnection = NonNullable<NonNullable<Parameters<typeof createClient>[0]>["connection"]>;

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
  /**
   * Embedded engine only: chDB connections the client's statements are spread over, each call to
   * the one with the fewest calls in flight. One connection runs one statement at a time; two let
   * two reads plan and run on two cores (bound statements still queue process-wide in chDB's
   * binding: with more than one, render them here, `bindParamsInProcess`). Statements must not rely
   * on session state (`USE`, temporary tables). @default 1
   */
  connections?: number;
  /**
   * Linux nice value (0–19) of the engine threads running this client's statements (ClickHouse's
   * `os_thread_priority`, set on each statement): the consumers' inserts give way to the API's
   * reads and to the process's JavaScript (the API's event loop) when the cores are busy.
   * Resetting a pool thread back to 0 after the statement needs CAP_SYS_NICE; without it the engine
   * logs that and the thread stays at the lower priority. @default 0 (unchanged)
   */
  threadNice?: number;
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

/** The calls of a connection that run a statement (spread by `spread`). */
const statementCalls = new Set<PropertyKey>(["query", "exec", "command", "insert", "ping"]);

/**
 * One connection over several: each statement goes to the connection with the fewest statements in
 * flight (the first of them on a tie); `close` closes them all. Anything else is the first one's.
 */
export function spread(connections: readonly EmbeddedConnection[]): EmbeddedConnection {
  const [first] = connections;
  if (!first) throw new Error("spread: no connection");
  if (connections.length === 1) return first;
  const inFlight = connections.map(() => 0);
  const leastBusy = (): number => inFlight.reduce((best, n, i) => (n < (inFlight[best] ?? 0) ? i : best), 0);
  return new Proxy(first, {
    get(target, property) {
      if (property === "close")
        return async () => void (await Promise.all(connections.map((c) => c.close())));
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== "function") return value;
      if (!statementCalls.has(property)) return (value as (...args: unknown[]) => unknown).bind(target);
      return async (params: unknown) => {
        const i = leastBusy();
        const connection = connections[i] as EmbeddedConnection;
        inFlight[i] = (inFlight[i] ?? 0) + 1;
        try {
          return await (
            Reflect.get(connection, property, connection) as (p: unknown) => Promise<unknown>
          ).call(connection, params);
        } finally {
          inFlight[i] = (inFlight[i] ?? 1) - 1;
        }
      };
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
  const nice = options.threadNice ?? 0;
  if (!Number.isInteger(nice) || nice < 0 || nice > 19)
    throw new Error(`ClickHouse thread nice must be an integer 0..19, got ${nice}`);
  const clickhouse_settings = nice > 0 ? { os_thread_priority: String(nice) } : undefined;
  if (options.url) return createClient({ url: options.url, request_timeout: 300_000, clickhouse_settings });
  if (!options.path) throw new Error("ClickHouse options need a url (server) or a path (embedded chdb)");
  // chdb types its Connection against @clickhouse/client-common, which @clickhouse/client bundles
  // as its own copy: structurally the same interface, nominally two declarations.
  const count = options.connections ?? 1;
  if (!Number.isInteger(count) || count < 1)
    throw new Error(`ClickHouse connections must be a positive integer, got ${count}`);
  const path = options.path;
  const connections = Array.from({ length: count }, () => {
    const connection = createChdbConnection({ path }) as unknown as EmbeddedConnection;
    return options.bindParamsInProcess ? bindingInProcess(connection) : connection;
  });
  return createClient({ connection: spread(connections), clickhouse_settings });
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
