import { describe, expect, it } from "vitest";
import { loadConsumerConfig } from "./config.js";
import { consumerLog, textLogLine } from "./logging.js";

const capture = () => {
  const lines: string[] = [];
  return { lines, destination: { write: (line: string) => void lines.push(line) } };
};

describe("consumer logs", () => {
  it("text: the readable line, a level tag only above info", () => {
    const at = new Date("2026-12-04T10:00:00.000Z");
    expect(textLogLine("consuming 12 topics", "info", at)).toBe(
      "[consumers] 2026-12-04T10:00:00.000Z consuming 12 topics",
    );
    expect(textLogLine("dead letter t:0:5 [X] bad", "warn", at)).toBe(
      "[consumers] 2026-12-04T10:00:00.000Z WARN dead letter t:0:5 [X] bad",
    );
  });

  it("json (LOG_FORMAT=json): one pino object per line with the level label, time and component", () => {
    const { lines, destination } = capture();
    const log = consumerLog({ logFormat: "json", logLevel: "info" }, destination);
    log("consuming 12 topics");
    log("inserting chunk: transient failure #1, retrying: timeout", "warn");
    log("pipeline failed: boom", "error");
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(parsed.map((p) => [p.level, p.component, p.msg])).toEqual([
      ["info", "consumers", "consuming 12 topics"],
      ["warn", "consumers", "inserting chunk: transient failure #1, retrying: timeout"],
      ["error", "consumers", "pipeline failed: boom"],
    ]);
    expect(Number.isNaN(Date.parse(String(parsed[0]?.time)))).toBe(false);
  });

  it("leaves out lines below CONSUMER_LOG_LEVEL in both formats", () => {
    for (const logFormat of ["json", "text"] as const) {
      const { lines, destination } = capture();
      const log = consumerLog({ logFormat, logLevel: "warn" }, destination);
      log("chatty");
      log("careful", "warn");
      expect(lines, logFormat).toHaveLength(1);
      expect(lines[0], logFormat).toContain("careful");
    }
  });
});

describe("consumer metrics and log config", () => {
  it("defaults: no metrics server, text logs at info, the token absent", () => {
    const config = loadConsumerConfig({});
    expect(config.metrics.port).toBe(0);
    expect(config.metrics.host).toBe("127.0.0.1");
    expect(config.metrics.token).toBeNull();
    expect(config.metrics.collectTimeoutMs).toBe(2000);
    expect(config.logFormat).toBe("text");
    expect(config.logLevel).toBe("info");
  });

  it("reads the port, format and token; the token and PGPASSWORD never serialise", () => {
    const config = loadConsumerConfig({
      CONSUMER_METRICS_PORT: "18001",
      LOG_FORMAT: "JSON",
      BIONICPRO_METRICS_TOKEN: "s3cret-token",
      PGPASSWORD: "pg-s3cret",
      PGPORT: "5433",
    });
    expect(config.metrics.port).toBe(18001);
    expect(config.logFormat).toBe("json");
    expect(config.metrics.token).toBe("s3cret-token");
    expect(config.metrics.sourcePg.port).toBe(5433);
    expect(config.metrics.sourcePg.password).toBe("pg-s3cret");
    const text = JSON.stringify(config);
    expect(text).not.toContain("s3cret");
  });

  it("refuses a bad port or format with the variable's name", () => {
    expect(() => loadConsumerConfig({ CONSUMER_METRICS_PORT: "70000" })).toThrow(/CONSUMER_METRICS_PORT/);
    expect(() => loadConsumerConfig({ LOG_FORMAT: "xml" })).toThrow(/LOG_FORMAT/);
  });
});
