import { describe, expect, it } from "vitest";
import { createClickHouseClient, spread, type EmbeddedConnection } from "./client.js";

/** A connection whose statements stay in flight until the test settles them; it records who ran what. */
function fakeConnection(name: string, log: string[]) {
  const pending: { resolve: (v: unknown) => void; reject: (e: Error) => void }[] = [];
  let closed = false;
  const connection = {
    name,
    query(params: { query: string }) {
      log.push(`${name}:${params.query}`);
      return new Promise((resolve, reject) => pending.push({ resolve, reject }));
    },
    async close() {
      closed = true;
    },
  };
  return {
    connection: connection as unknown as EmbeddedConnection,
    settle: (value: unknown = "ok") => pending.shift()?.resolve(value),
    fail: () => pending.shift()?.reject(new Error("boom")),
    get closed() {
      return closed;
    },
  };
}

/** Two fake connections spread by one pool, recording into one log. */
function twoConnections() {
  const log: string[] = [];
  const a = fakeConnection("a", log);
  const b = fakeConnection("b", log);
  const pool = spread([a.connection, b.connection]) as unknown as {
    query: (p: { query: string }) => Promise<unknown>;
  };
  return { log, a, b, pool };
}

const flush = () => new Promise((r) => setImmediate(r));

describe("spread (statements over several embedded connections)", () => {
  it("sends each statement to the connection with the fewest in flight, the first on a tie", async () => {
    const { log, a, b, pool } = twoConnections();
    const q1 = pool.query({ query: "1" });
    const q2 = pool.query({ query: "2" });
    const q3 = pool.query({ query: "3" });
    await flush();
    expect(log).toEqual(["a:1", "b:2", "a:3"]);
    b.settle("from b");
    expect(await q2).toBe("from b");
    // a has two in flight, b none.
    const q4 = pool.query({ query: "4" });
    await flush();
    expect(log.at(-1)).toBe("b:4");
    a.settle();
    a.settle();
    b.settle();
    await Promise.all([q1, q3, q4]);
    void pool.query({ query: "5" });
    await flush();
    expect(log.at(-1)).toBe("a:5");
  });

  it("frees a connection's slot when its statement fails", async () => {
    const { log, a, pool } = twoConnections();
    const failing = pool.query({ query: "1" });
    await flush();
    a.fail();
    await expect(failing).rejects.toThrow("boom");
    void pool.query({ query: "2" });
    await flush();
    expect(log).toEqual(["a:1", "a:2"]);
  });

  it("closes every connection, and is the connection itself when there is one", async () => {
    const log: string[] = [];
    const a = fakeConnection("a", log);
    const b = fakeConnection("b", log);
    await spread([a.connection, b.connection]).close();
    expect([a.closed, b.closed]).toEqual([true, true]);
    expect(spread([a.connection])).toBe(a.connection);
    expect(() => spread([])).toThrow("spread: no connection");
  });
});

describe("createClickHouseClient: threadNice", () => {
  it("refuses a nice value outside 0..19 before opening anything", () => {
    for (const threadNice of [-1, 20, 2.5]) {
      expect(() =>
        createClickHouseClient({ url: "http://127.0.0.1:1", database: "reports", threadNice }),
      ).toThrow(`ClickHouse thread nice must be an integer 0..19, got ${threadNice}`);
    }
  });
});
