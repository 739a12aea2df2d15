import { describe, expect, it } from "vitest";
import { renderConnectorConfig } from "../../connectors/render.js";
import { blockingSnapshotSignal, catalogueTableNames, findCatalogueTable } from "./signal.js";

describe("findCatalogueTable", () => {
  it("finds a table and its source database, with or without the source", () => {
    expect(findCatalogueTable("crm_payments")).toEqual({ source: "crm", table: "crm_payments" });
    expect(findCatalogueTable("crm.crm_payments")).toEqual({ source: "crm", table: "crm_payments" });
    expect(findCatalogueTable("raw_telemetry")).toEqual({ source: "telemetry", table: "raw_telemetry" });
  });

  it("knows no table outside the catalogue, nor one under the wrong source", () => {
    for (const name of ["payments", "telemetry.crm_payments", "debezium_signal", "debezium_heartbeat", ""]) {
      expect(findCatalogueTable(name), name).toBeUndefined();
    }
    expect(catalogueTableNames()).toHaveLength(8);
  });
});

describe("blockingSnapshotSignal", () => {
  it("asks Debezium for a blocking (not incremental) snapshot of public.<table>", () => {
    expect(blockingSnapshotSignal("crm_users", "id-1")).toEqual({
      id: "id-1",
      type: "execute-snapshot",
      data: '{"data-collections":["public.crm_users"],"type":"blocking"}',
    });
    expect(blockingSnapshotSignal("crm_users").id).toMatch(/^resnapshot-crm_users-[0-9a-z]+-[0-9a-f]{6}$/);
    // The longest table name still fits the signal table's id varchar(64).
    for (const name of catalogueTableNames()) {
      const table = name.slice(name.indexOf(".") + 1);
      expect(blockingSnapshotSignal(table).id.length, table).toBeLessThanOrEqual(64);
    }
  });
});

describe("the connector's signal settings", () => {
  it("reads signals from public.debezium_signal and drops the signal table's records before Kafka", () => {
    const config = renderConnectorConfig({
      source: "crm",
      dbHost: "h",
      dbPort: 5432,
      dbUser: "u",
      dbName: "crm_db",
      topicPrefix: "bionicpro",
      slotName: "bionicpro_crm",
      registryUrl: "http://r",
      topicPartitions: 1,
      factRetentionMs: -1,
    });
    expect(config["signal.enabled.channels"]).toBe("source");
    expect(config["signal.data.collection"]).toBe("public.debezium_signal");
    expect(config["transforms"]).toBe("route,dropSignals");
    expect(config["transforms.dropSignals.predicate"]).toBe("isSignal");
    expect(config["predicates.isSignal.pattern"]).toBe("bionicpro\\.crm\\.debezium_signal");
  });
});
