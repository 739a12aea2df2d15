import { logLevel, type LogEntry } from "kafkajs";
import { describe, expect, it } from "vitest";
import { kafkaLogLine } from "./kafka-log.js";

const entry = (namespace: string, log: Record<string, unknown>, level = logLevel.ERROR): LogEntry => ({
  namespace,
  level,
  label: "ERROR",
  log: { timestamp: "2026-11-26T07:38:46.028Z", message: "", ...log },
});

describe("kafkaLogLine", () => {
  it("leaves out the connection layer's echo of error responses kafkajs retries itself", () => {
    const echo = entry("Connection", {
      message: "Response InitProducerId(key: 22, version: 1)",
      error: "The coordinator is loading and hence can't process requests for this group",
    });
    expect(kafkaLogLine(logLevel.ERROR, echo)).toBeUndefined();
  });

  it("keeps errors and warnings of the other namespaces, on one line", () => {
    const crash = entry("Consumer", { message: "Crash: KafkaJSNumberOfRetriesExceeded", error: "boom" });
    expect(kafkaLogLine(logLevel.ERROR, crash)).toBe(
      "kafka error [Consumer] Crash: KafkaJSNumberOfRetriesExceeded: boom",
    );
    const warn = entry("ConsumerGroup", { message: "Stale assignment" }, logLevel.WARN);
    expect(kafkaLogLine(logLevel.WARN, warn)).toBe("kafka warning [ConsumerGroup] Stale assignment");
  });

  it("leaves out info and debug", () => {
    expect(
      kafkaLogLine(logLevel.INFO, entry("Consumer", { message: "joined" }, logLevel.INFO)),
    ).toBeUndefined();
    expect(
      kafkaLogLine(logLevel.DEBUG, entry("Consumer", { message: "fetch" }, logLevel.DEBUG)),
    ).toBeUndefined();
  });
});
