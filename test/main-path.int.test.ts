import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { ClickHouseClient } from "@clickhouse/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClickHouseClient } from "../clickhouse/client.js";
import { readFreshness } from "../clickhouse/freshness.js";
import { formatReconcileResult } from "../consumers/src/reconcile/index.js";
import { readProgress } from "../consumers/src/sink/pipeline-state.js";
import { SOURCE_TABLES } from "../scripts/generate/source-tables.js";
import { simulate } from "../scripts/simulate/index.js";
import { closeCdcRun, openCdcRun, type CdcRun } from "./harness/cdc.js";
import {
  killConsumer,
  spawnConsumer,
  START_ENTRY,
  stopConsumer,
  type ConsumerProcess,
} from "./harness/consumer-process.js";
import {
  endOffsets,
  groupAssignments,
  reconcileRun,
  removeDir,
  seconds,
  sourceQuery,
  tempClickHouseDir,
  until,
  waitForDrain,
} from "./harness/pipeline.js";

/**
 * The README's run command as a new user runs it: `npm start` (scripts/start.ts itself, in a child
 * process) on empty source databases brings the stack up, generates the demo data (the seeds' full
 * volumes), creates the connectors, runs the consumers; a live stream of 50k inserts, updates and
 * deletes runs on top while the snapshot is still being consumed. Ctrl-C (SIGINT) stops it cleanly,
 * and reconcile finds zero differences in every mart. Every name the process uses (databases, topic
 * prefix, slots, ClickHouse directory, group) comes from the environment, so it is isolated.
 */
const CHANGES = 50_000;
const DATABASE = "reports";

let run: CdcRun;
let dataDir: string;
let logFile: string;
let group: string;
let start: ConsumerProcess | undefined;
let clickhouse: ClickHouseClient | undefined;
let passed = false;

beforeAll(async () => {
  run = await openCdcRun();
  dataDir = tempClickHouseDir();
  group = `start-${run.runId}`;
  logFile = path.join(tmpdir(), `bionicpro-start-${run.runId}.log`);
}, 60_000);

afterAll(async () => {
  if (start && !start.exit) await killConsumer(start).catch(() => undefined);
  await clickhouse?.close().catch(() => undefined);
  if (run) await closeCdcRun(run);
  removeDir(dataDir);
  if (passed) rmSync(logFile, { force: true });
  else console.log(`npm start output kept in ${logFile}`);
}, 120_000);

const tail = (proc: ConsumerProcess, lines = 40): string =>
  proc.output().split("\n").slice(-lines).join("\n");

describe("npm start from empty state", () => {
  it("demo data, snapshot and a live stream of 50k changes: the marts equal the oracle, data_as_of is recent", async () => {
    const started = performance.now();
    start = spawnConsumer({
      entry: START_ENTRY,
      logFile,
      incarnation: 1,
      env: {
        CRM_DB: run.dbs.crmDb,
        TELEMETRY_DB: run.dbs.telemetryDb,
        TOPIC_PREFIX: run.topicPrefix,
        CONSUMER_GROUP: group,
        CLICKHOUSE_PATH: dataDir,
        CLICKHOUSE_DATABASE: DATABASE,
        CLICKHOUSE_URL: "",
      },
    });
    const proc = start;
    // Running once the consumer group has a member with every source partition assigned.
    await until(
      "npm start's consumers to join their group",
      async () => {
        if (proc.exit) throw new Error(`npm start exited (${JSON.stringify(proc.exit)}):\n${tail(proc)}`);
        const { state, members } = await groupAssignments(run, group);
        return state === "Stable" && members.length === 1 && members[0]!.partitions.length > 0
          ? true
          : undefined;
      },
      300_000,
    );
    const users = await sourceQuery<{ n: string }>(run, "crm", "SELECT count(*) AS n FROM crm_users");
    expect(Number(users[0]?.n)).toBe(12);
    console.log(`npm start consuming after ${seconds(started)}`);

    // The stream runs while Debezium's snapshot is still being consumed.
    const summary = await simulate({ ...run.dbs, rate: 5_000, maxChanges: CHANGES, seed: 5 });
    expect(summary.total).toBeGreaterThanOrEqual(CHANGES);
    const ops = { insert: 0, update: 0, delete: 0 };
    for (const table of SOURCE_TABLES) {
      for (const op of ["insert", "update", "delete"] as const) ops[op] += summary.changes[table][op];
    }
    expect(ops.update).toBeGreaterThan(0);
    expect(ops.delete).toBeGreaterThan(0);

    await waitForDrain(run, group, { timeoutMs: 420_000 });
    const ends = await endOffsets(run);
    console.log(`drained at ${seconds(started)}`);
    const exit = await stopConsumer(proc, 60_000);
    expect(exit, tail(proc)).toEqual({ code: 0, signal: null });

    clickhouse = createClickHouseClient({ path: dataDir, database: DATABASE });
    // ClickHouse's own progress agrees with Kafka: every data partition applied up to its end.
    for (const row of await readProgress(clickhouse, DATABASE, group)) {
      if (row.topic.endsWith(".debezium_heartbeat")) continue;
      const id = `${row.topic}:${row.partition}`;
      expect({ id, status: row.status, next: row.lastOffset + 1n }).toEqual({
        id,
        status: "applied",
        next: ends.get(id),
      });
    }
    const freshness = await readFreshness(clickhouse, DATABASE);
    for (const s of freshness.sources) expect(s.lagSeconds, s.source).toBeLessThan(10 * 60);
    expect(freshness.dataAsOf).toBe([...freshness.sources.map((s) => s.dataAsOf as string)].sort()[0]);

    const result = await reconcileRun(run, clickhouse, DATABASE);
    console.log(formatReconcileResult(result, 5));
    expect(result.marts.every((m) => m.oracleRows > 0)).toBe(true);
    expect(result.differenceCount, formatReconcileResult(result)).toBe(0);
    passed = true;
  }, 900_000);
});
