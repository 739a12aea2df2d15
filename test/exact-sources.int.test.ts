import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it } from "vitest";
import { readFreshness } from "../clickhouse/freshness.js";
import { formatReconcileResult } from "../consumers/src/reconcile/index.js";
import { dataTopics } from "../consumers/src/runtime/pipeline.js";
import { RecordDecoder } from "../consumers/src/runtime/decode.js";
import { changeIdentity } from "../consumers/src/runtime/reemission.js";
import { generate } from "../scripts/generate/index.js";
import { simulate } from "../scripts/simulate/index.js";
import { restartComponent } from "../scripts/stack/stack.js";
import {
  endOffsets,
  GatedDecoder,
  openPipelineRun,
  readRaw,
  reconcileRun,
  resetCounts,
  sourceQuery,
  tableAssigner,
  until,
  waitForDrain,
  type PipelineRun,
} from "./harness/pipeline.js";

/**
 * Exact on the paths a live system takes besides inserts, updates and deletes (docs/consumers.md
 * "Resets", "Re-emitted changes", "data_as_of"): TRUNCATEs and a second demo load into databases
 * that stream, Kafka Connect killed mid-stream, and one partition held back.
 */
let ctx: PipelineRun | undefined;

afterEach(async () => {
  await ctx?.close();
  ctx = undefined;
}, 120_000);

const log = (line: string): void => console.log(`[exact] ${new Date().toISOString()} ${line}`);

/**
 * Records of the source topics whose source change appears more than once (op, LSN, transaction,
 * key). Heartbeat topics included: a heartbeat is an UPDATE of the heartbeat table, and Debezium
 * emits those again after a restart like any other change (the consumer drops them too).
 * `topics`: only these (all source topics by default).
 */
async function repeatedChanges(run: PipelineRun, topics?: readonly string[]): Promise<number> {
  const decoder = new RecordDecoder(run.config.registryUrl);
  let repeated = 0;
  for (const [tp, end] of await endOffsets(run.run)) {
    if (end === 0n) continue;
    const topic = tp.slice(0, tp.lastIndexOf(":"));
    if (topics && !topics.includes(topic)) continue;
    const seen = new Set<string>();
    for (const record of await readRaw(run.run, topic, Number(end))) {
      const identity = changeIdentity(await decoder.decodeValue(record.value), record.key);
      if (identity === null) continue;
      if (seen.has(identity)) repeated += 1;
      seen.add(identity);
    }
  }
  return repeated;
}

describe("exact from the source", () => {
  it("TRUNCATE of crm_payments and raw_telemetry mid-stream, more inserts, then the demo load again: zero differences", async () => {
    ctx = await openPipelineRun({ telemetryDensity: 0.05, seed: 31 });
    const { run } = ctx;
    const marts = await ctx.startPipeline("marts");
    const stream = simulate({ ...run.dbs, rate: 1_000, maxChanges: 15_000, seed: 31 });
    await sleep(4_000);
    await sourceQuery(run, "crm", "TRUNCATE crm_payments");
    await sleep(3_000);
    await sourceQuery(run, "telemetry", "TRUNCATE raw_telemetry");
    const first = await stream;
    log(`stream of ${first.total} changes around two TRUNCATEs done`);
    // generate into databases that stream: TRUNCATE + COPY of every table in one transaction each.
    await generate({ ...run.dbs, scale: 1, seed: 32, telemetryDensity: 0.02, progress: false });
    await simulate({ ...run.dbs, rate: 1_000, maxChanges: 3_000, seed: 33 });
    await waitForDrain(run, ctx.config.group, { pipelines: [marts], timeoutMs: 300_000 });

    const result = await reconcileRun(run, ctx.clickhouse, ctx.database);
    expect(result.marts.every((m) => m.oracleRows > 0)).toBe(true);
    expect(result.differenceCount, formatReconcileResult(result)).toBe(0);
    // The two TRUNCATEs and the load's eight; one snapshot per table of the seed data.
    expect(await resetCounts(ctx)).toEqual({ snapshot: 8, truncate: 10 });
    const [{ payments } = { payments: "" }] = await sourceQuery<{ payments: string }>(
      run,
      "crm",
      "SELECT count(*)::text AS payments FROM crm_payments",
    );
    log(`after the load: ${payments} payments; ${marts.pipeline.stats.resets} resets applied`);
  }, 600_000);

  it("Kafka Connect SIGKILLed three times mid-stream: the changes it emitted again are dropped, zero differences", async () => {
    // Small chunks: the bursts Connect emits again after a kill fill several, applied in the
    // background while the next batches are fetched (the guard sees them once, in order). The event
    // loop turns every 100 records of a chunk's preparation (CONSUMER_YIELD_RECORDS): the guard's
    // checks of one partition's chunks still run in offset order across those turns.
    ctx = await openPipelineRun({
      telemetryDensity: 0.05,
      seed: 41,
      config: { chunkMaxRecords: 250, yieldRecords: 100 },
    });
    const { run } = ctx;
    const marts = await ctx.startPipeline("marts");
    const stream = simulate({ ...run.dbs, rate: 1_000, durationS: 45, seed: 41 });
    for (let kill = 1; kill <= 3; kill += 1) {
      await sleep(6_000);
      await restartComponent(run.config, "connect", {
        kill: true,
        log: (line) => log(`kill ${kill}: ${line}`),
      });
    }
    const summary = await stream;
    await waitForDrain(run, ctx.config.group, { pipelines: [marts], timeoutMs: 300_000 });

    const result = await reconcileRun(run, ctx.clickhouse, ctx.database);
    expect(result.differenceCount, formatReconcileResult(result)).toBe(0);
    // Debezium did emit changes twice (Kafka holds them), and the consumer dropped exactly those.
    const repeated = await repeatedChanges(ctx);
    log(
      `${summary.total} changes; Kafka holds ${repeated} repeated; the consumer dropped ${marts.pipeline.stats.reemitted}`,
    );
    expect(repeated).toBeGreaterThan(0);
    expect(marts.pipeline.stats.reemitted).toBe(repeated);
  }, 600_000);

  it("Kafka Connect SIGKILLed around a hand-over of partitions between two members: what it emitted again is dropped once, zero differences", async () => {
    // The survivor re-reads the history of the partitions it takes over (docs/consumers.md
    // "Re-emitted changes") while Connect emits changes again: the guard must hold every change
    // before the resume position, whichever member applied it.
    ctx = await openPipelineRun({ telemetryDensity: 0.05, seed: 61, config: { chunkMaxRecords: 250 } });
    const { run } = ctx;
    const a = await ctx.startPipeline("a");
    const b = await ctx.startPipeline("b");
    const stream = simulate({ ...run.dbs, rate: 1_000, durationS: 40, seed: 61 });
    const kill = async (n: number) =>
      restartComponent(run.config, "connect", { kill: true, log: (line) => log(`kill ${n}: ${line}`) });
    await sleep(6_000);
    await kill(1);
    await a.stop();
    log(`a stopped after ${a.pipeline.stats.records} records, ${a.pipeline.stats.reemitted} dropped`);
    await sleep(4_000);
    await kill(2);
    const summary = await stream;
    await waitForDrain(run, ctx.config.group, { pipelines: [b], timeoutMs: 300_000 });

    const result = await reconcileRun(run, ctx.clickhouse, ctx.database);
    expect(result.differenceCount, formatReconcileResult(result)).toBe(0);
    // Heartbeat partitions keep no history: a heartbeat emitted again after the hand-over, whose
    // first copy the stopped member applied, is applied again (it only repeats a horizon already
    // recorded). Every data change emitted again is dropped, once.
    const repeatedData = await repeatedChanges(ctx, dataTopics(run.topicPrefix));
    const repeatedAll = await repeatedChanges(ctx);
    const dropped = a.pipeline.stats.reemitted + b.pipeline.stats.reemitted;
    log(
      `${summary.total} changes; Kafka holds ${repeatedData} repeated data changes (${repeatedAll} with heartbeats); a and b dropped ${dropped}`,
    );
    expect(repeatedData).toBeGreaterThan(0);
    expect(dropped).toBeGreaterThanOrEqual(repeatedData);
    expect(dropped).toBeLessThanOrEqual(repeatedAll);
  }, 600_000);

  it("one partition held back: data_as_of of its source stays before its first pending commit, the other source goes on", async () => {
    ctx = await openPipelineRun({ telemetryDensity: 0.02, seed: 51 });
    const { run } = ctx;
    const gate = new GatedDecoder(ctx.config.registryUrl);
    const rest = await ctx.startPipeline("rest", { partitionAssigners: [tableAssigner([])] });
    const held = await ctx.startPipeline("held", {
      decoder: gate,
      partitionAssigners: [tableAssigner(["raw_telemetry"])],
    });
    await waitForDrain(run, ctx.config.group, { pipelines: [rest, held], timeoutMs: 300_000 });
    const freshness = () => readFreshness(ctx!.clickhouse, ctx!.database);
    /** Commits one insert; returns its commit time (track_commit_timestamp is on) as ISO, in ms. */
    const commitInsert = async (source: "crm" | "telemetry", table: string, id: string, sql: string) => {
      await sourceQuery(run, source, sql);
      const [row] = await sourceQuery<{ at: string }>(
        run,
        source,
        `SELECT to_char(pg_xact_commit_timestamp(xmin) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS at
         FROM ${table} WHERE ${id}`,
      );
      return row!.at;
    };

    gate.close();
    // A raw_telemetry sample the held member cannot apply, then an event the other member applies.
    const pending = await commitInsert(
      "telemetry",
      "raw_telemetry",
      "sample_id = 900000001",
      "INSERT INTO raw_telemetry VALUES (900000001, 'CHIP-HELD', '2024-06-01T00:00:00Z', 10, 50, 0)",
    );
    const later = await commitInsert(
      "telemetry",
      "telemetry_events",
      "event_id = 900000001",
      "INSERT INTO telemetry_events VALUES (900000001, 1, 'warning', '2024-06-01T00:00:00Z', NULL, 'warning')",
    );
    // The event is applied and heartbeats move on: crm is complete past both commits...
    await until(
      "crm's data_as_of to pass the held commit",
      async () => {
        const f = await freshness();
        return (f.sources[0]?.dataAsOf ?? "") > later ? f : undefined;
      },
      60_000,
    );
    const applied = await ctx.clickhouse.query({
      query: `SELECT count() AS n FROM ${ctx.database}.telemetry_event_changes WHERE event_id = 900000001`,
      format: "JSONEachRow",
    });
    expect(Number((await applied.json<{ n: string }>())[0]?.n)).toBe(1);
    // ...while telemetry stays before the pending sample for as long as it is held.
    for (let check = 0; check < 3; check += 1) {
      const telemetry = (await freshness()).sources[1];
      expect(telemetry?.dataAsOf ?? "", `check ${check}`).not.toBe("");
      expect(
        (telemetry?.dataAsOf ?? "") < pending,
        `check ${check}: ${telemetry?.dataAsOf} vs ${pending}`,
      ).toBe(true);
      expect((await freshness()).dataAsOf).toBe(telemetry?.dataAsOf);
      await sleep(1_500);
    }
    gate.release();
    await until(
      "telemetry's data_as_of to pass the released commit",
      async () => {
        const f = await freshness();
        return (f.sources[1]?.dataAsOf ?? "") > later ? f : undefined;
      },
      60_000,
    );
  }, 600_000);
});
