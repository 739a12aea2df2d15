import type { ClickHouseClient } from "@clickhouse/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClickHouseClient } from "../clickhouse/client.js";
import type { ConsumerConfig } from "../consumers/src/config.js";
import { formatReconcileResult } from "../consumers/src/reconcile/index.js";
import { startPipeline, type RunningPipeline } from "../consumers/src/runtime/run.js";
import { readProgress, readWatermarks } from "../consumers/src/sink/pipeline-state.js";
import { generate } from "../scripts/generate/index.js";
import { SOURCE_TABLES } from "../scripts/generate/source-tables.js";
import { simulate, type SimulateSummary } from "../scripts/simulate/index.js";
import { closeCdcRun, openCdcRun, startConnectors, type CdcRun } from "./harness/cdc.js";
import {
  assertHealthy,
  endOffsets,
  pipelineLog,
  reconcileRun,
  removeDir,
  seconds,
  tempClickHouseDir,
  testConsumerConfig,
  waitForDrain,
} from "./harness/pipeline.js";

/**
 * The whole path on real services: generated seed data in PostgreSQL, Debezium's snapshot and a
 * simulated stream of >= 50k inserts, updates and deletes (made while the snapshot is still being
 * consumed), the marts consumer in this process writing to embedded ClickHouse, then reconcile
 * against the PostgreSQL oracle: zero differences in every mart.
 */
const CHANGES = 50_000;
/** The full scale-1 seed (~1M records: the seeds' volumes) streamed through the pipeline. */
const TELEMETRY_DENSITY = 1;

let run: CdcRun;
let dataDir: string;
let config: ConsumerConfig;
let running: RunningPipeline | undefined;
let clickhouse: ClickHouseClient | undefined;
const log = pipelineLog("marts");

beforeAll(async () => {
  run = await openCdcRun();
  dataDir = tempClickHouseDir();
  config = testConsumerConfig(run, dataDir);
}, 60_000);

afterAll(async () => {
  await running?.close().catch(() => undefined);
  await clickhouse?.close().catch(() => undefined);
  if (run) await closeCdcRun(run);
  removeDir(dataDir);
}, 120_000);

describe("pipeline end to end", () => {
  let summary: SimulateSummary;

  it("seed data plus a simulated stream of at least 50k changes with updates and deletes: reconcile finds zero differences in every mart", async () => {
    const started = performance.now();
    const seed = await generate({
      ...run.dbs,
      scale: 1,
      seed: 20_261_123,
      telemetryDensity: TELEMETRY_DENSITY,
      progress: false,
    });
    console.log(
      `generate: ${Object.values(seed.rows).reduce((a, b) => a + b, 0)} rows in ${seconds(started)}`,
    );
    // The seed's CRM part is complete (scale 1).
    expect(seed.rows.crm_users).toBe(12);
    expect(seed.rows.crm_payments).toBe(234);

    await startConnectors(run);
    running = await startPipeline(config, log.log);
    const streamStarted = performance.now();
    // The stream runs while Debezium is still snapshotting and the consumer catching up.
    summary = await simulate({ ...run.dbs, rate: 5_000, maxChanges: CHANGES, seed: 5 });
    console.log(
      `simulate: ${summary.total} changes in ${(summary.elapsedMs / 1000).toFixed(1)} s ` +
        `(${summary.achievedRate.toFixed(0)}/s), at ${seconds(started)}`,
    );
    expect(summary.total).toBeGreaterThanOrEqual(CHANGES);
    const ops = { insert: 0, update: 0, delete: 0 };
    for (const table of SOURCE_TABLES) {
      for (const op of ["insert", "update", "delete"] as const) ops[op] += summary.changes[table][op];
    }
    expect(ops.update).toBeGreaterThan(0);
    expect(ops.delete).toBeGreaterThan(0);
    expect(ops.insert + ops.update + ops.delete).toBe(summary.total);

    await waitForDrain(run, config.group, {
      pipelines: [{ name: "marts", pipeline: running.pipeline, log }],
      timeoutMs: 300_000,
    });
    console.log(
      `drained at ${seconds(started)} (${seconds(streamStarted)} after the stream started): ` +
        `${running.pipeline.stats.records} records in ${running.pipeline.stats.chunks} chunks`,
    );
    assertHealthy([{ name: "marts", pipeline: running.pipeline, log }]);
    expect(running.pipeline.stats.deadLetters).toBe(0);
    const ends = await endOffsets(run);
    await running.close();
    running = undefined;

    // Reopen the embedded directory: everything applied survived the pipeline's close.
    clickhouse = createClickHouseClient(config.clickhouse);
    const database = config.clickhouse.database;
    // ClickHouse's own progress agrees with Kafka: every data partition applied up to its end.
    const progress = await readProgress(clickhouse, database, config.group);
    for (const row of progress) {
      if (row.topic.endsWith(".debezium_heartbeat")) continue;
      const end = ends.get(`${row.topic}:${row.partition}`);
      expect({
        partition: `${row.topic}:${row.partition}`,
        status: row.status,
        next: row.lastOffset + 1n,
      }).toEqual({ partition: `${row.topic}:${row.partition}`, status: "applied", next: end });
    }

    const reconcileStarted = performance.now();
    const result = await reconcileRun(run, clickhouse, database);
    console.log(`reconcile in ${seconds(reconcileStarted)}; total ${seconds(started)}`);
    console.log(formatReconcileResult(result, 5));
    expect(result.differenceCount, formatReconcileResult(result)).toBe(0);
    expect(result.ok).toBe(true);
    expect(result.marts.length).toBeGreaterThan(0);
    expect(result.marts.every((m) => m.oracleRows > 0)).toBe(true);
  }, 420_000);

  it("the freshness watermark covers both sources", async () => {
    expect(clickhouse, "the end-to-end test must run first").toBeDefined();
    const watermarks = await readWatermarks(clickhouse as ClickHouseClient, config.clickhouse.database);
    expect(watermarks.map((w) => w.source)).toEqual(["crm", "telemetry"]);
    for (const w of watermarks) {
      expect(w.commitTs).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}$/);
      // The stream ran moments ago: both sources are reflected up to a recent commit.
      expect(Date.now() - Date.parse(`${w.commitTs.replace(" ", "T")}Z`)).toBeLessThan(10 * 60_000);
      expect(BigInt(w.lsn)).toBeGreaterThan(0n);
    }
  });
});
