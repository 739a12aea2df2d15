import { describe, expect, it } from "vitest";
import { hasTopicPrefix, resolveTopic } from "./topic-names.js";

describe("resolveTopic", () => {
  const existing = new Set(["bionicpro.crm.crm_payments", "other.topic"]);

  it("resolves table names to the prefix's topic", () => {
    for (const name of ["crm.payments", "payments", "crm_payments", "crm.crm_payments"]) {
      expect(resolveTopic(name, "bionicpro", existing), name).toBe("bionicpro.crm.crm_payments");
    }
    expect(resolveTopic("telemetry.events", "p1", existing)).toBe("p1.telemetry.telemetry_events");
    expect(resolveTopic("raw_telemetry", "p1", existing)).toBe("p1.telemetry.raw_telemetry");
    expect(resolveTopic("battery_metrics", "p1", existing)).toBe("p1.telemetry.battery_metrics");
  });

  it("takes an existing topic as it is", () => {
    expect(resolveTopic("other.topic", "bionicpro", existing)).toBe("other.topic");
  });

  it("says what it knows when a name matches nothing", () => {
    expect(() => resolveTopic("crm.events", "p", existing)).toThrow(
      expect.objectContaining({ code: "TOPIC_NOT_FOUND" }) as Error,
    );
    expect(() => resolveTopic("invoices", "p", existing)).toThrow(
      /neither a topic nor a source table .*crm\.crm_payments/,
    );
  });
});

describe("hasTopicPrefix", () => {
  it("includes the prefix's table, DLQ and Debezium heartbeat topics", () => {
    expect(hasTopicPrefix("bionicpro.crm.crm_users", "bionicpro.")).toBe(true);
    expect(hasTopicPrefix("bionicpro.dlq", "bionicpro.")).toBe(true);
    expect(hasTopicPrefix("__debezium-heartbeat.bionicpro.crm", "bionicpro.")).toBe(true);
    expect(hasTopicPrefix("bionicpro2.crm.crm_users", "bionicpro.")).toBe(false);
    expect(hasTopicPrefix("__consumer_offsets", "bionicpro.")).toBe(false);
    expect(hasTopicPrefix("__consumer_offsets", "")).toBe(true);
  });
});
