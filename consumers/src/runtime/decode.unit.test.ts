import { createServer as createHttpServer } from "node:http";
import { createServer, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { ConsumerError } from "../errors.js";
import { RecordDecoder } from "./decode.js";

/** A registry that accepts connections and never answers: a stalled JVM, a half-open connection. */
async function silentRegistry(): Promise<{
  url: string;
  requests: () => number;
  close: () => Promise<void>;
}> {
  const sockets = new Set<Socket>();
  let requests = 0;
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("data", () => {
      requests += 1;
    });
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no TCP address");
  return {
    url: `http://127.0.0.1:${address.port}`,
    requests: () => requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A registry answering every request with `status` and a Confluent-style error body. */
async function answeringRegistry(status: number): Promise<{ url: string; close: () => Promise<void> }> {
  const server = createHttpServer((_request, response) => {
    response.writeHead(status, { "content-type": "application/vnd.schemaregistry.v1+json" });
    response.end(JSON.stringify({ error_code: status * 100 + 3, message: `answered ${status}` }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no TCP address");
  return {
    url: `http://127.0.0.1:${address.port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** What decodeChunk of one record ends with: its result, or the error it threw. */
async function outcome(decoder: RecordDecoder): Promise<unknown> {
  return decoder.decodeChunk([framed]).then(
    ([decoded]) => decoded,
    (error: unknown) => error,
  );
}

/** A Confluent-framed record of schema id 7 (the body is never read: the schema is not there). */
const framed = Buffer.from([0, 0, 0, 0, 7, 2, 4]);

describe("RecordDecoder: a record is a dead letter only when the registry says its schema does not exist", () => {
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await close?.();
    close = undefined;
  });

  it("a registry that never answers fails the chunk as REGISTRY_UNAVAILABLE (retried) instead of hanging", async () => {
    const registry = await silentRegistry();
    close = registry.close;
    const failure = await outcome(new RecordDecoder(registry.url, { requestTimeoutMs: 200 }));
    expect(failure).toBeInstanceOf(ConsumerError);
    expect(failure).toMatchObject({ code: "REGISTRY_UNAVAILABLE", canRetry: true });
    expect((failure as Error).message).toContain("Timeout (200ms)");
    expect(registry.requests()).toBeGreaterThanOrEqual(1);
  }, 60_000);

  it("a registry that is not there (connection refused) is REGISTRY_UNAVAILABLE, not an unknown schema", async () => {
    const registry = await silentRegistry();
    const { url } = registry;
    await registry.close(); // nothing listens on its port any more
    const failure = await outcome(new RecordDecoder(url, { requestTimeoutMs: 2_000 }));
    expect(failure).toBeInstanceOf(ConsumerError);
    expect(failure).toMatchObject({ code: "REGISTRY_UNAVAILABLE", canRetry: true });
    expect((failure as Error).message).toContain("ECONNREFUSED");
  }, 60_000);

  it.each([401, 403, 500, 503])(
    "a registry answering %i is REGISTRY_UNAVAILABLE (retried)",
    async (status) => {
      const registry = await answeringRegistry(status);
      close = registry.close;
      expect(await outcome(new RecordDecoder(registry.url))).toMatchObject({
        code: "REGISTRY_UNAVAILABLE",
        canRetry: true,
      });
    },
    60_000,
  );

  it("a registry answering 404 makes the record a permanent DECODE_UNKNOWN_SCHEMA (its dead letter)", async () => {
    const registry = await answeringRegistry(404);
    close = registry.close;
    const decoded = await outcome(new RecordDecoder(registry.url));
    expect(decoded).toBeInstanceOf(ConsumerError);
    expect(decoded).toMatchObject({
      code: "DECODE_UNKNOWN_SCHEMA",
      canRetry: false,
      message: "schema id 7 is unknown to the registry (404)",
    });
  });
});
