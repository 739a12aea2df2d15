import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dataTopics } from "../consumers/src/runtime/pipeline.js";
import { isTransient } from "../consumers/src/errors.js";
import { formatReconcileResult } from "../consumers/src/reconcile/index.js";
import { simulate } from "../scripts/simulate/index.js";
import {
  assertHealthy,
  consumerLag,
  openPipelineRun,
  reconcileRun,
  sourceQuery,
  tableRows,
  totalLag,
  waitForDrain,
  type PipelineRun,
  type TestPipeline,
} from "./harness/pipeline.js";

/**
 * ClickHouse refuses inserts for 30 s, for real: the telemetry change table is told to throw
 * TOO_MANY_PARTS (code 252) as soon as it has one part. The consumer keeps retrying the chunk with
 * backoff (252 is transient), lag grows while the sources keep changing; once the setting is reset
 * the lag drains to zero and reconcile finds nothing lost or doubled.
 */
const OUTAGE_MS = 30_000;

let ctx: PipelineRun;
let marts: TestPipeline;

beforeAll(async () => {
  ctx = await openPipelineRun({ telemetryDensity: 0.05, seed: 8 });
  marts = await ctx.startPipeline("marts");
}, 300_000);

afterAll(async () => {
  await ctx?.close();
}, 120_000);

describe("ClickHouse outage", () => {
  it("the embedded engine's TOO_MANY_PARTS is a real insert failure the consumer classifies as transient", async () => {
    const { clickhouse, database } = ctx;
    const probe = `${database}.outage_probe`;
    await clickhouse.command({
      query: `CREATE TABLE ${probe} (x Int32) ENGINE = MergeTree ORDER BY x`,
    });
    try {
      await clickhouse.insert({ table: probe, values: [{ x: 1 }], format: "JSONEachRow" });
      await clickhouse.command({ query: `ALTER TABLE ${probe} MODIFY SETTING parts_to_throw_insert = 1` });
      const error = await clickhouse.insert({ table: probe, values: [{ x: 2 }], format: "JSONEachRow" }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toMatchObject({ code: "252", type: "TOO_MANY_PARTS" });
      expect(isTransient(error)).toBe(true);
      expect(await tableRows(clickhouse, probe)).toBe(1);
    } finally {
      await clickhouse.command({ query: `DROP TABLE IF EXISTS ${probe}` });
    }
  });

  it("ClickHouse inserts failing for 30 s: nothing lost, lag drains afterwards", async () => {
    const { run, config, clickhouse, database } = ctx;
    const table = `${database}.telemetry_event_changes`;
    await waitForDrain(run, config.group, { pipelines: [marts] });
    const rowsBefore = await tableRows(clickhouse, table);
    expect(rowsBefore).toBeGreaterThan(0); // at least one part: the next insert throws

    await clickhouse.command({ query: `ALTER TABLE ${table} MODIFY SETTING parts_to_throw_insert = 1` });
    const outageStarted = Date.now();
    const lagSamples: number[] = [];
    let restored = false;
    try {
      // The sources keep changing through the outage.
      const stream = simulate({ ...run.dbs, rate: 400, durationS: OUTAGE_MS / 1000 - 2, seed: 17 });
      while (Date.now() - outageStarted < OUTAGE_MS) {
        await sleep(3_000);
        assertHealthy([marts]);
        lagSamples.push(totalLag(await consumerLag(run, config.group)));
        // Nothing reaches the blocked table while the outage lasts.
        expect(await tableRows(clickhouse, table)).toBe(rowsBefore);
      }
      const summary = await stream;
      expect(summary.changes.telemetry_events.insert).toBeGreaterThan(0);
      expect(summary.total).toBeGreaterThan(5_000);
      expect(await tableRows(clickhouse, table)).toBe(rowsBefore);
      await clickhouse.command({ query: `ALTER TABLE ${table} RESET SETTING parts_to_throw_insert` });
      restored = true;
    } finally {
      if (!restored) {
        await clickhouse.command({ query: `ALTER TABLE ${table} RESET SETTING parts_to_throw_insert` });
      }
    }
    console.log(`lag during the outage: ${lagSamples.join(", ")}`);
    // Lag grew during the outage: changes kept arriving, none of the blocked chunk was committed.
    expect(lagSamples.at(-1)).toBeGreaterThan(lagSamples[0] ?? 0);
    expect(lagSamples.at(-1)).toBeGreaterThan(1_000);
    // The pipeline saw the failures and retried them instead of giving up.
    expect(
      marts.log.lines.some((l) =>
        /inserting chunk: transient failure #\d+, retrying: .*Too many parts/.test(l),
      ),
    ).toBe(true);

    const drainStarted = Date.now();
    await waitForDrain(run, config.group, { pipelines: [marts], timeoutMs: 120_000 });
    console.log(`drained ${((Date.now() - drainStarted) / 1000).toFixed(1)} s after the outage ended`);
    // The data topics only: Debezium's heartbeat topics keep growing while the test looks.
    expect(totalLag(await consumerLag(run, config.group, dataTopics(run.topicPrefix)))).toBe(0);
    assertHealthy([marts]);

    // Exactly the source rows, no more, no fewer: the net signed count equals PostgreSQL's.
    const [pgCount] = await sourceQuery<{ n: string }>(
      run,
      "telemetry",
      "SELECT count(*) AS n FROM telemetry_events",
    );
    const net = await clickhouse.query({
      query: `SELECT toInt64(sum(sign)) AS n FROM ${table}`,
      format: "JSONEachRow",
    });
    expect(Number((await net.json<{ n: string | number }>())[0]?.n)).toBe(Number(pgCount?.n));

    const result = await reconcileRun(run, clickhouse, database);
    expect(result.differenceCount, formatReconcileResult(result)).toBe(0);
    expect(result.ok).toBe(true);
  }, 240_000);
});
