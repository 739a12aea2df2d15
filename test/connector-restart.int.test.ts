import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectorStatus } from "../connectors/apply.js";
import { connectorName } from "../connectors/render.js";
import { generate } from "../scripts/generate/index.js";
import { applySourceConnector, slotNameFor } from "../scripts/stack/stack.js";
import { closeCdcRun, collect, openCdcRun, startConnectors, type CdcRun } from "./harness/cdc.js";
import { failCrmTaskOnSchemaRegistration } from "./harness/pipeline.js";

/**
 * A Debezium task that failed while nothing supervised it — here: the schema registry down while a
 * new schema had to be registered — stays FAILED in Kafka Connect. Applying the connector again
 * (what `npm start` does before its supervisor runs) restarts it instead of refusing to start.
 */
let run: CdcRun;

beforeAll(async () => {
  run = await openCdcRun();
  await generate({ ...run.dbs, scale: 1, seed: 11, telemetryDensity: 0.01, progress: false });
  await startConnectors(run);
  // Nothing supervises the connectors from here on, as when `npm start` is not running.
  await run.supervisor?.stop();
}, 600_000);

afterAll(async () => {
  if (run) await closeCdcRun(run);
}, 120_000);

describe("a connector left FAILED", () => {
  it("is restarted by the next apply, and the change it had failed on reaches Kafka", async () => {
    const name = connectorName(run.topicPrefix, "crm");
    await failCrmTaskOnSchemaRegistration(
      run,
      {
        column: "restart_note",
        value: "after the outage",
        where: "payment_id = (SELECT min(payment_id) FROM crm_payments)",
      },
      () => undefined,
    );
    // Connect keeps it FAILED with the registry back.
    expect((await connectorStatus(run.config.connectUrl, name))?.tasks.map((t) => t.state)).toEqual([
      "FAILED",
    ]);

    const lines: string[] = [];
    await applySourceConnector(run.config, "crm", {
      dbName: run.dbs.crmDb,
      topicPrefix: run.topicPrefix,
      slotName: slotNameFor(run.topicPrefix, "crm"),
      heartbeatIntervalMs: 1000,
      log: (line) => lines.push(line),
    });
    expect(lines.filter((l) => l.startsWith(`connector ${name} was FAILED`))).toHaveLength(1);
    const status = await connectorStatus(run.config.connectUrl, name);
    expect([status?.connector.state, ...(status?.tasks ?? []).map((t) => t.state)]).toEqual([
      "RUNNING",
      "RUNNING",
    ]);
    const records = await collect(
      run,
      [run.topic("crm", "crm_payments")],
      (rs) => rs.some((r) => r.value?.after?.restart_note === "after the outage"),
      120_000,
    );
    expect(records.filter((r) => r.value?.after?.restart_note === "after the outage")).toHaveLength(1);
  }, 600_000);
});
