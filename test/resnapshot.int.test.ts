import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatReconcileResult } from "../consumers/src/reconcile/index.js";
import { runReplay } from "../consumers/src/replay/replay.js";
import { RecordDecoder } from "../consumers/src/runtime/decode.js";
import { resnapshot } from "../scripts/resnapshot/resnapshot.js";
import { findCatalogueTable, catalogueTableNames } from "../scripts/resnapshot/signal.js";
import { simulate } from "../scripts/simulate/index.js";
import { runCli } from "./harness/cli.js";
import {
  endOffsets,
  insertTestPayment,
  openPipelineRun,
  readRaw,
  reconcileRun,
  sourceQuery,
  waitForDrain,
  type PipelineRun,
  type TestPipeline,
} from "./harness/pipeline.js";

/**
 * `resnapshot <table>` (docs/operators.md): Debezium reads a table into its topic again through a
 * blocking snapshot, while changes keep streaming, and the consumers turn the reads into a reset of
 * the table: the marts equal the oracle, nothing counted twice.
 */
let ctx: PipelineRun;
let marts: TestPipeline;

beforeAll(async () => {
  ctx = await openPipelineRun({ telemetryDensity: 0.02, seed: 61 });
  marts = await ctx.startPipeline("marts");
}, 300_000);

afterAll(async () => {
  await ctx?.close();
}, 120_000);

const log = (line: string): void => console.log(`[resnapshot] ${new Date().toISOString()} ${line}`);

interface CliResult {
  source: string;
  table: string;
  topic: string;
  rows: number;
  lsn: string;
  reads: number;
  writersHeldMs: number;
  elapsedMs: number;
  waited: boolean;
}

/**
 * Inserts payments, one transaction after another, until stopped: writes of the table racing the
 * signal and the snapshot (without the command's lock, the ones committed between the two were read
 * and streamed again: counted twice).
 */
function racingPayments(run: PipelineRun["run"], firstId: number) {
  let stopped = false;
  let written = 0;
  const done = (async () => {
    // Downwards from near the top of integer: simulate's own ids grow from the table's maximum.
    for (let id = firstId; !stopped; id -= 1) {
      await insertTestPayment(run, {
        id,
        status: "success",
        amount: "10.00",
        description: "written during resnapshot",
        paidAt: "2026-10-15 10:30:00+00",
        createdAt: "2026-10-15 10:30:01+00",
      });
      written += 1;
    }
  })();
  return {
    stop: async (): Promise<number> => {
      stopped = true;
      await done;
      return written;
    },
  };
}

describe("resnapshot", () => {
  it("an unknown table is a usage error (exit 2) naming the catalogue's tables", async () => {
    const result = await runCli(["resnapshot", "crm_nonexistent"], { TOPIC_PREFIX: ctx.run.topicPrefix });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('"crm_nonexistent" is not a source table of the catalogue');
    expect(result.stderr).toContain("crm.crm_payments");
  });

  it("re-reads crm_payments during a live stream: exactly its rows as new snapshot reads, one reset, zero differences", async () => {
    const { run } = ctx;
    await simulate({ ...run.dbs, rate: 1_000, maxChanges: 2_000, seed: 61 });
    await waitForDrain(run, ctx.config.group, { pipelines: [marts], timeoutMs: 300_000 });
    const before = await reconcileRun(run, ctx.clickhouse, ctx.database);
    expect(before.differenceCount, formatReconcileResult(before)).toBe(0);

    const topic = run.topic("crm", "crm_payments");
    const starts = await endOffsets(run, [topic]);
    // Changes keep coming while the snapshot runs: the ones that would have been read and streamed
    // again (writes right after the signal) are what the command's lock rules out.
    const stream = simulate({ ...run.dbs, rate: 300, maxChanges: 3_000, seed: 62 });
    const racing = racingPayments(run, 2_000_000_000);
    const cli = await runCli(
      ["resnapshot", "crm_payments", "--wait", "--json"],
      { TOPIC_PREFIX: run.topicPrefix, CRM_DB: run.dbs.crmDb, TELEMETRY_DB: run.dbs.telemetryDb },
      300_000,
    );
    expect(cli.code, cli.stderr).toBe(0);
    const result = JSON.parse(cli.stdout) as CliResult;
    log(`${cli.stderr.trim()}\n${JSON.stringify(result)}`);
    expect(result).toMatchObject({ source: "crm", table: "crm_payments", topic, waited: true });
    expect(result.rows).toBeGreaterThan(0);
    expect(result.reads).toBe(result.rows);
    const raced = await racing.stop();
    expect(raced).toBeGreaterThan(0);
    const summary = await stream;
    await waitForDrain(run, ctx.config.group, { pipelines: [marts], timeoutMs: 300_000 });

    // The topic got exactly one read per row of the table at the snapshot, all at the signal's LSN.
    const ends = await endOffsets(run, [topic]);
    const total = [...ends.values()].reduce((n, end) => n + Number(end), 0);
    const decoder = new RecordDecoder(ctx.config.registryUrl);
    const newReads: bigint[] = [];
    for (const record of await readRaw(run, topic, total, 120_000)) {
      const start = starts.get(`${topic}:${record.partition}`) ?? 0n;
      if (BigInt(record.offset) < start) continue;
      const envelope = await decoder.decodeValue(record.value);
      if (envelope?.op === "r") newReads.push(envelope.source.lsn ?? -1n);
    }
    expect(newReads.length).toBe(result.rows);
    expect(new Set(newReads.map(String))).toEqual(new Set([result.lsn]));

    // The consumers applied it as a reset of crm_payments at that LSN, and counted nothing twice.
    const resets = await ctx.clickhouse.query({
      query: `SELECT toString(lsn) AS lsn FROM ${ctx.database}.source_resets
              WHERE source_table = 'crm_payments' AND kind = 'snapshot' ORDER BY lsn`,
      format: "JSONEachRow",
    });
    const lsns = (await resets.json<{ lsn: string }>()).map((r) => r.lsn);
    expect(lsns).toHaveLength(2); // the initial snapshot's, then this one
    expect(lsns[1]).toBe(result.lsn);
    const after = await reconcileRun(run, ctx.clickhouse, ctx.database);
    expect(after.marts.every((m) => m.oracleRows > 0)).toBe(true);
    expect(after.differenceCount, formatReconcileResult(after)).toBe(0);
    const [{ payments } = { payments: "" }] = await sourceQuery<{ payments: string }>(
      run,
      "crm",
      "SELECT count(*)::text AS payments FROM crm_payments",
    );
    log(
      `${summary.total} changes streamed around it, ${raced} payments inserted one by one meanwhile; ` +
        `${result.rows} reads; ${payments} payments now; ` +
        `writers held ${result.writersHeldMs} ms; resets applied ${marts.pipeline.stats.resets}`,
    );
  }, 900_000);

  it("what it is for: after a resnapshot of every table, a replay from just before them reconciles to zero", async () => {
    const { run } = ctx;
    const from = new Date().toISOString();
    const config = {
      pg: run.dbs.pg,
      crmDb: run.dbs.crmDb,
      telemetryDb: run.dbs.telemetryDb,
      kafkaBrokers: run.config.kafkaBrokers,
      registryUrl: run.config.registryUrl,
      connectUrl: run.config.connectUrl,
      topicPrefix: run.topicPrefix,
    };
    const lines: string[] = [];
    for (const name of catalogueTableNames()) {
      const result = await resnapshot(config, {
        target: findCatalogueTable(name)!,
        wait: true,
        timeoutMs: 300_000,
        lockTimeoutMs: 30_000,
        log: () => undefined,
      });
      expect(result.reads, name).toBe(result.rows);
      lines.push(
        `${name} ${result.rows} rows in ${result.elapsedMs} ms (writers held ${result.writersHeldMs} ms)`,
      );
    }
    log(lines.join("; "));
    await waitForDrain(run, ctx.config.group, { pipelines: [marts], timeoutMs: 300_000 });
    const live = await reconcileRun(run, ctx.clickhouse, ctx.database);
    expect(live.differenceCount, formatReconcileResult(live)).toBe(0);

    // Only the records from `from` on: the history before it is what a shorter retention would have lost.
    const replay = await runReplay({
      clickhouse: ctx.config.clickhouse,
      consumer: ctx.config,
      oracle: { pg: run.dbs.pg, crmDb: run.dbs.crmDb, telemetryDb: run.dbs.telemetryDb },
      from,
      live: marts.pipeline,
      log: () => undefined,
    });
    log(
      `replay from ${from}: ${replay.records} records of ${replay.total} offsets, reconcile ${JSON.stringify(replay.reconcile)}`,
    );
    expect(replay.reconcile).toMatchObject({ ok: true, differenceCount: 0 });
    expect(replay.swapped).toContain("user_payment_monthly");
    const after = await reconcileRun(run, ctx.clickhouse, ctx.database);
    expect(after.differenceCount, formatReconcileResult(after)).toBe(0);
  }, 900_000);
});
