import type { ClickHouseClient } from "@clickhouse/client";

/**
 * A ClickHouse client that stops using its session after a statement fails and opens a new one.
 *
 * Why: on an embedded (chDB 3.4.0) session, the output a failed statement had produced before its
 * exception stays in the session and is prepended to the next statement's result — a CSV header, or
 * the rows a JSONEachRow query had streamed (measured: clickhouse/fresh-session.unit.test.ts). A
 * session that served a failed statement is therefore never used again. The old session is closed
 * once its statements in flight have settled. Over HTTP (server mode) this only costs a new client
 * after an error.
 */
export function freshAfterFailure(open: () => ClickHouseClient): ClickHouseClient {
  let current = open();
  const inFlight = new Map<ClickHouseClient, number>();
  const retired = new Set<ClickHouseClient>();
  let closed = false;

  const settle = (client: ClickHouseClient) => {
    const left = (inFlight.get(client) ?? 1) - 1;
    if (left > 0) inFlight.set(client, left);
    else inFlight.delete(client);
    if (left <= 0 && retired.delete(client)) void client.close().catch(() => undefined);
  };

  const retire = (client: ClickHouseClient) => {
    if (client !== current || closed) return;
    retired.add(client);
    current = open();
  };

  return new Proxy({} as ClickHouseClient, {
    get(_target, property) {
      if (property === "close")
        return async () => {
          closed = true;
          await current.close();
        };
      const client = current;
      const value: unknown = Reflect.get(client, property, client);
      if (typeof value !== "function") return value;
      return async (...args: unknown[]) => {
        inFlight.set(client, (inFlight.get(client) ?? 0) + 1);
        try {
          const result: unknown = await (value as (...a: unknown[]) => unknown).apply(client, args);
          if (property === "ping" && (result as { success?: boolean }).success === false) retire(client);
          return result;
        } catch (error) {
          retire(client);
          throw error;
        } finally {
          settle(client);
        }
      };
    },
  });
}
