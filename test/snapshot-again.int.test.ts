import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it } from "vitest";
import { formatReconcileResult } from "../consumers/src/reconcile/index.js";
import { simulate } from "../scripts/simulate/index.js";
import { SOURCES } from "../connectors/sources.js";
import { rewindSourceOffsets, snapshotsCommitted } from "./harness/cdc.js";
import {
  openPipelineRun,
  reconcileRun,
  resetCounts,
  waitForDrain,
  type PipelineRun,
} from "./harness/pipeline.js";

/**
 * Debezium takes its initial snapshot again while its replication slot exists and changes stream:
 * what a task does when it dies before Kafka Connect commits the offset recording its snapshot's end
 * (or mid-snapshot, or when an operator resets its offsets). Debezium reads an existing slot's
 * snapshot outside the slot's exported snapshot, so the changes committed while it reads would be in
 * the snapshot and streamed too; the connectors' snapshotter (connectors/snapshotter) drops the slot
 * first so that Debezium creates it anew and snapshots consistently (docs/consumers.md "Resets").
 */
let ctx: PipelineRun | undefined;

afterEach(async () => {
  await ctx?.close();
  ctx = undefined;
}, 120_000);

const log = (line: string): void => console.log(`[snapshot-again] ${new Date().toISOString()} ${line}`);

const tableCount = Object.values(SOURCES).reduce((n, source) => n + source.tables.length, 0);

describe("an initial snapshot taken again while changes stream", () => {
  it("mid-stream, one connector loses its offset and the other goes back to a snapshot in progress; both snapshot again: zero differences", async () => {
    ctx = await openPipelineRun({ telemetryDensity: 0.05, seed: 71 });
    const { run } = ctx;
    const marts = await ctx.startPipeline("marts");
    const stream = simulate({ ...run.dbs, rate: 1_000, durationS: 35, seed: 71 });
    await snapshotsCommitted(run);
    await sleep(3_000);
    // The telemetry snapshot (~25k rows at this density) takes long enough for hundreds of
    // changes to commit while Debezium reads it.
    await rewindSourceOffsets(run, "telemetry", "none");
    await rewindSourceOffsets(run, "crm", "snapshot-in-progress");
    log("both connectors resumed: telemetry without an offset, crm with a snapshot in progress");
    const summary = await stream;
    await waitForDrain(run, ctx.config.group, { pipelines: [marts], timeoutMs: 300_000 });

    const result = await reconcileRun(run, ctx.clickhouse, ctx.database);
    log(`${summary.total} changes; ${marts.pipeline.stats.resets} resets applied`);
    expect(result.marts.every((m) => m.oracleRows > 0)).toBe(true);
    expect(result.differenceCount, formatReconcileResult(result)).toBe(0);
    // Every table snapshotted twice: once at the start, once after the offsets were rewound.
    expect((await resetCounts(ctx)).snapshot).toBe(2 * tableCount);
  }, 600_000);
});
