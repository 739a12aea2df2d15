import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { ClickHouseClient } from "@clickhouse/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClickHouseClient } from "./client.js";
import { freshAfterFailure } from "./fresh-session.js";

/** The embedded engine's leftover output after a failed statement, and the client that avoids it. */
let dir: string;
const opened: ClickHouseClient[] = [];
const open = () => {
  const client = createClickHouseClient({ path: dir, database: "fresh_session" });
  opened.push(client);
  return client;
};

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), "bionicpro-fresh-"));
});

afterAll(async () => {
  for (const client of opened) await client.close().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

// One thread and small blocks: rows 0..69999 are always formatted before the block that throws.
// With the defaults, the throwing block could run first and leave nothing behind (seen in 1 of 5 runs).
const failing =
  "SELECT number, throwIf(number = 70000) AS boom FROM numbers(100000) SETTINGS max_threads = 1, max_block_size = 1000";
const text = async (client: ClickHouseClient, query: string) =>
  (await client.query({ query, format: "JSONEachRow" })).text();

describe("a failed statement on an embedded session", () => {
  it("leaves its partial output in front of the next result (chDB 3.4.0)", async () => {
    const session = open();
    await expect(text(session, failing)).rejects.toThrow(/throwIf|FUNCTION_THROW_IF_VALUE_IS_NON_ZERO/);
    const next = await text(session, "SELECT 42 AS answer");
    expect(next.startsWith('{"number":0')).toBe(true);
    expect(next.endsWith('{"answer":42}\n')).toBe(true);
  });

  it("does not reach the next result through freshAfterFailure", async () => {
    const client = freshAfterFailure(open);
    await expect(text(client, failing)).rejects.toThrow();
    expect(await text(client, "SELECT 42 AS answer")).toBe('{"answer":42}\n');
    const together = await Promise.all([1, 2, 3].map((n) => text(client, `SELECT ${n} AS n`)));
    expect(together).toEqual(['{"n":1}\n', '{"n":2}\n', '{"n":3}\n']);
    await client.close();
  });
});
