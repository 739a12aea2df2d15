import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dataTopics } from "../consumers/src/runtime/pipeline.js";
import { formatReconcileResult } from "../consumers/src/reconcile/index.js";
import { generate } from "../scripts/generate/index.js";
import { slotNameFor } from "../scripts/stack/stack.js";
import { startConnectors } from "./harness/cdc.js";
import {
  endOffsets,
  openPipelineRun,
  reconcileRun,
  sourceQuery,
  until,
  waitForDrain,
  type PipelineRun,
} from "./harness/pipeline.js";

/**
 * The first run's race, forced: the connectors exist before the demo data (as after
 * `npm run stack -- up`), their initial snapshot has taken its consistent point — the replication
 * slot exists — but has not read a table yet (`snapshot.delay.ms`), and the demo load (TRUNCATE +
 * COPY in one transaction per database, `generate`) commits in between. The snapshot then reads
 * the tables, the slot streams the load. Zero differences, whatever the snapshot saw: the load is
 * never frozen (COPY FREEZE rows are visible to older snapshots, so they were read and streamed),
 * and its TRUNCATE reaches the consumers, which retract anything from before it.
 */
const SNAPSHOT_DELAY_MS = 20_000;

let ctx: PipelineRun;

beforeAll(async () => {
  ctx = await openPipelineRun({ empty: true });
}, 600_000);

afterAll(async () => {
  await ctx?.close();
}, 120_000);

describe("first run: the demo load overlaps the initial snapshot", () => {
  it("load committed after the snapshot's consistent point, before it read anything: zero differences", async () => {
    const { run } = ctx;
    const slots = (["crm", "telemetry"] as const).map((s) => slotNameFor(run.topicPrefix, s));
    await startConnectors(run, { "snapshot.delay.ms": String(SNAPSHOT_DELAY_MS) });
    const created = Date.now();
    // The slots (and the snapshot's consistent point) exist before the load begins...
    const existing = await sourceQuery<{ slot_name: string }>(
      run,
      "crm",
      "SELECT slot_name FROM pg_replication_slots WHERE slot_name = ANY($1) ORDER BY slot_name",
      [slots],
    );
    expect(existing.map((r) => r.slot_name)).toEqual([...slots].sort());
    const summary = await generate({
      ...run.dbs,
      scale: 1,
      seed: 99,
      telemetryDensity: 0.1,
      progress: false,
    });
    // ...and the load committed while the snapshots were still waiting to read: nothing in Kafka yet.
    const committedAfterMs = Date.now() - created;
    expect(committedAfterMs).toBeLessThan(SNAPSHOT_DELAY_MS);
    const before = Object.fromEntries(
      [...(await endOffsets(run, dataTopics(run.topicPrefix)))].map(([tp, end]) => [tp, end.toString()]),
    );
    expect(before).toEqual(Object.fromEntries(Object.keys(before).map((tp) => [tp, "0"])));
    expect(summary.rows.crm_users).toBe(12);

    const marts = await ctx.startPipeline("marts");
    // Everything arrives once the snapshots read and the slots stream.
    await until(
      "the load to reach Kafka",
      async () => {
        const ends = await endOffsets(run, dataTopics(run.topicPrefix));
        return [...ends.values()].some((end) => end > 0n) ? true : undefined;
      },
      120_000,
    );
    await waitForDrain(run, ctx.config.group, { pipelines: [marts], timeoutMs: 300_000 });
    const result = await reconcileRun(run, ctx.clickhouse, ctx.database);
    console.log(
      `load committed ${committedAfterMs} ms after the connectors started; ${marts.pipeline.stats.records} records, ` +
        `${marts.pipeline.stats.resets} resets applied`,
    );
    expect(result.marts.every((m) => m.oracleRows > 0)).toBe(true);
    expect(result.differenceCount, formatReconcileResult(result)).toBe(0);
  }, 600_000);
});
