import type { ClickHouseClient } from "@clickhouse/client";
import {
  KafkaJSConnectionError,
  KafkaJSNumberOfRetriesExceeded,
  KafkaJSProtocolError,
  type Kafka,
} from "kafkajs";
import { describe, expect, it } from "vitest";
import { loadConsumerConfig } from "../config.js";
import type { RecordDecoder } from "./decode.js";
import {
  dataTopics,
  isHeartbeatTopic,
  isKafkaConnectionError,
  MartsPipeline,
  needsRejoin,
  resumePoint,
  sourceTopics,
} from "./pipeline.js";

/** kafkajs builds protocol errors from its error-code table entry; the typings only show (message). */
const protocolError = (type: string, code: number): Error =>
  new KafkaJSProtocolError({ type, code, retriable: false, message: type } as unknown as Error);

/** A pipeline on a fake Kafka client that only records the consumer's event handlers. */
function fakePipeline() {
  const handlers = new Map<string, (event: unknown) => void>();
  const consumer = {
    events: { GROUP_JOIN: "consumer.group_join", CRASH: "consumer.crash" },
    on: (name: string, handler: (event: unknown) => void) => {
      handlers.set(name, handler);
      return () => undefined;
    },
  };
  const kafka = { consumer: () => consumer, producer: () => ({}), admin: () => ({}) } as unknown as Kafka;
  const lines: string[] = [];
  const pipeline = new MartsPipeline({
    config: loadConsumerConfig({}),
    kafka,
    clickhouse: {} as ClickHouseClient,
    decoder: {} as RecordDecoder,
    log: (line) => lines.push(line),
  });
  return { pipeline, handlers, lines };
}

describe("MartsPipeline.failed", () => {
  it("resolves with the fatal error (main.ts exits on it instead of idling with a dead pipeline)", async () => {
    const { pipeline, handlers, lines } = fakePipeline();
    const boom = new Error("coordinator gone for good");
    handlers.get("consumer.crash")?.({ payload: { error: boom, restart: false } });
    const settled = await Promise.race([
      pipeline.failed,
      new Promise<string>((resolve) => setTimeout(() => resolve("still pending"), 100)),
    ]);
    expect(settled).toBe(boom);
    expect(pipeline.error).toBe(boom);
    expect(lines).toEqual(["pipeline failed: coordinator gone for good"]);
  });

  it("ignores a crash kafkajs restarts from itself", async () => {
    const { pipeline, handlers } = fakePipeline();
    handlers.get("consumer.crash")?.({ payload: { error: new Error("transient"), restart: true } });
    expect(pipeline.error).toBeUndefined();
  });
});

describe("needsRejoin", () => {
  it("is true for the group errors kafkajs answers by rejoining", () => {
    expect(needsRejoin(protocolError("REBALANCE_IN_PROGRESS", 27))).toBe(true);
    expect(needsRejoin(protocolError("ILLEGAL_GENERATION", 22))).toBe(true);
    expect(needsRejoin(protocolError("NOT_COORDINATOR_FOR_GROUP", 16))).toBe(true);
    expect(needsRejoin(protocolError("UNKNOWN_MEMBER_ID", 25))).toBe(true);
  });

  it("is false for anything else", () => {
    expect(needsRejoin(protocolError("TOPIC_AUTHORIZATION_FAILED", 29))).toBe(false);
    expect(needsRejoin(new Error("REBALANCE_IN_PROGRESS"))).toBe(false);
    expect(needsRejoin(undefined)).toBe(false);
    expect(needsRejoin("REBALANCE_IN_PROGRESS")).toBe(false);
  });
});

describe("resumePoint", () => {
  const row = {
    group: "g",
    topic: "t",
    partition: 0,
    claimEpoch: 3n,
    firstOffset: 10n,
    lastOffset: 19n,
    commitTs: "2024-03-01 10:00:00.250",
  };
  it("resumes after an applied chunk, complete to the commit it carries", () => {
    expect(resumePoint({ ...row, status: "applied" })).toEqual({
      nextOffset: 20n,
      forcedLast: undefined,
      intentClaim: undefined,
      completeTo: "2024-03-01 10:00:00.250",
    });
  });
  it("redoes an open intent as exactly its range, complete to the commit it carries", () => {
    expect(resumePoint({ ...row, status: "intent" })).toEqual({
      nextOffset: 10n,
      forcedLast: 19n,
      intentClaim: 3n,
      completeTo: "2024-03-01 10:00:00.250",
    });
  });
});

describe("isKafkaConnectionError", () => {
  it("is true for an unreachable broker, also behind kafkajs' retries (a broker restart is not fatal)", () => {
    const refused = new KafkaJSConnectionError("Connection error: connect ECONNREFUSED 127.0.0.1:19092");
    expect(isKafkaConnectionError(refused)).toBe(true);
    expect(
      isKafkaConnectionError(new KafkaJSNumberOfRetriesExceeded(refused, { retryCount: 5, retryTime: 900 })),
    ).toBe(true);
  });
  it("is false for protocol errors, plain errors and non-errors", () => {
    expect(isKafkaConnectionError(protocolError("REBALANCE_IN_PROGRESS", 27))).toBe(false);
    expect(isKafkaConnectionError(new Error("ECONNREFUSED"))).toBe(false);
    expect(isKafkaConnectionError(undefined)).toBe(false);
  });
});

describe("source topics", () => {
  it("the table topics are the source topics without the heartbeat topics, in the same order", () => {
    const all = sourceTopics("p");
    expect(all.filter(isHeartbeatTopic)).toEqual([
      "p.crm.debezium_heartbeat",
      "p.telemetry.debezium_heartbeat",
    ]);
    expect(dataTopics("p")).toEqual(all.filter((topic) => !isHeartbeatTopic(topic)));
    expect(dataTopics("p")).toContain("p.crm.crm_payments");
    expect(dataTopics("p")).toContain("p.telemetry.raw_telemetry");
  });
});
