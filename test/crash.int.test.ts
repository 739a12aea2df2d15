import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClickHouseClient } from "../clickhouse/client.js";
import { SOURCES, type SourceName } from "../connectors/sources.js";
import { formatReconcileResult, reconcile } from "../consumers/src/reconcile/index.js";
import { sourceTopics } from "../consumers/src/runtime/pipeline.js";
import { generate } from "../scripts/generate/index.js";
import type { SourceTable } from "../scripts/generate/source-tables.js";
import { formatSummary, simulate, type SimulateSummary } from "../scripts/simulate/index.js";
import { closeCdcRun, openCdcRun, startConnectors, withAdmin, type CdcRun } from "./harness/cdc.js";
import {
  CONSUMER_ENTRY,
  killConsumer,
  spawnConsumer,
  stopConsumer,
  type ConsumerProcess,
} from "./harness/consumer-process.js";

/**
 * The exactly-once proof of DESIGN §6: the consumer runs as a real process and is SIGKILLed at
 * random moments while a stream of >= 100k inserts, updates and deletes flows through Debezium and
 * Kafka, restarted right after each kill; once it has caught up, the marts reconcile with the
 * PostgreSQL oracle with zero differences (a chunk applied twice would double sums, one lost would
 * miss them).
 *
 * Kill moments: a delay of 1-6 s (mulberry32 from SEED, logged) after each consumer has joined the
 * group, so that kills land while it applies chunks (the restart itself first waits for the killed
 * member's Kafka session to lapse). The loop goes on while the stream runs and until MIN_KILLS.
 */

const MIN_KILLS = 10;
/** A bound on the kill loop, should the stream outlast the planned kills by far. */
const MAX_KILLS = 16;
const MIN_CHANGES = 100_000;
const RATE = 2500;
const SEED = 4242;
const KILL_DELAY_MS = { min: 1000, max: 6000 };
const CHUNK_MAX_RECORDS = 2000;
const CLICKHOUSE_DATABASE = "reports";

const log = (line: string): void => console.log(`[crash] ${new Date().toISOString()} ${line}`);

/** mulberry32: the kill delays are reproducible from SEED. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

let run: CdcRun | undefined;
let dataDir: string | undefined;
let logFile = "";
let group = "";
let passed = false;
const snapshotCounts = new Map<SourceTable, number>();
const children: ConsumerProcess[] = [];

const tablesOf = (source: SourceName) => SOURCES[source].tables as readonly SourceTable[];

async function countRows(database: string, table: string): Promise<number> {
  const { host, port, user, password } = run!.dbs.pg;
  const client = new pg.Client({ host, port, user, password, database });
  await client.connect();
  try {
    const result = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`);
    return Number(result.rows[0]?.n);
  } finally {
    await client.end();
  }
}

interface GroupLag {
  /** Records in the source topics not yet committed by the group. */
  behind: number;
  /** Records in the source topics (sum of end offsets). */
  records: number;
  committed: number;
}

/** End offsets first, then the group's commits: behind === 0 means caught up at that moment. */
async function groupLag(): Promise<GroupLag> {
  return withAdmin(run!, async (admin) => {
    const topics = sourceTopics(run!.topicPrefix);
    const ends = new Map<string, number>();
    for (const topic of topics) {
      for (const p of await admin.fetchTopicOffsets(topic))
        ends.set(`${topic}:${p.partition}`, Number(p.high));
    }
    const committed = new Map<string, number>();
    for (const t of await admin.fetchOffsets({ groupId: group, topics })) {
      for (const p of t.partitions) committed.set(`${t.topic}:${p.partition}`, Number(p.offset));
    }
    let behind = 0;
    let records = 0;
    let done = 0;
    for (const [key, end] of ends) {
      const at = Math.max(0, committed.get(key) ?? -1);
      behind += Math.max(0, end - at);
      records += end;
      done += Math.min(at, end);
    }
    return { behind, records, committed: done };
  });
}

/** Records per table topic (no compaction mid-test: segments are far from rolling). */
async function topicCounts(): Promise<Map<SourceTable, number>> {
  return withAdmin(run!, async (admin) => {
    const counts = new Map<SourceTable, number>();
    for (const source of ["crm", "telemetry"] as const) {
      for (const table of tablesOf(source)) {
        const offsets = await admin.fetchTopicOffsets(run!.topic(source, table));
        counts.set(
          table,
          offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0),
        );
      }
    }
    return counts;
  });
}

function startConsumer(): ConsumerProcess {
  const { config, topicPrefix } = run!;
  const proc = spawnConsumer({
    logFile,
    incarnation: children.length + 1,
    env: {
      TOPIC_PREFIX: topicPrefix,
      CONSUMER_GROUP: group,
      CLICKHOUSE_PATH: dataDir!,
      CLICKHOUSE_DATABASE,
      CLICKHOUSE_URL: "",
      KAFKA_BROKERS: config.kafkaBrokers.join(","),
      SCHEMA_REGISTRY_URL: config.registryUrl,
      CONSUMER_CHUNK_MAX_RECORDS: String(CHUNK_MAX_RECORDS),
      CONSUMER_RETRY_MAX_MS: "60000",
      // The broker's minimum session: each restarted consumer joins once the killed one's session
      // has expired (~10 s with the default, for every one of the kills).
      CONSUMER_SESSION_TIMEOUT_MS: "6000",
    },
  });
  children.push(proc);
  return proc;
}

function tail(proc: ConsumerProcess, lines = 40): string {
  return proc.output().split("\n").slice(-lines).join("\n");
}

/** Until the consumer has joined the group and starts fetching; fails if it exits first. */
async function waitUntilConsuming(proc: ConsumerProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.exit) {
      throw new Error(
        `consumer #${proc.incarnation} exited (${JSON.stringify(proc.exit)}) before consuming:\n${tail(proc)}`,
      );
    }
    if (/ consuming \d+ topics /.test(proc.output())) return;
    if (Date.now() > deadline) {
      throw new Error(`consumer #${proc.incarnation} not consuming after ${timeoutMs} ms:\n${tail(proc)}`);
    }
    await sleep(100);
  }
}

/** Sleeps, failing at once should the consumer die on its own meanwhile. */
async function watch(proc: ConsumerProcess, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (proc.exit) {
      throw new Error(
        `consumer #${proc.incarnation} exited by itself (${JSON.stringify(proc.exit)}):\n${tail(proc)}`,
      );
    }
    await sleep(Math.min(100, until - Date.now()));
  }
}

beforeAll(async () => {
  run = await openCdcRun();
  group = `crash-${run.runId}`;
  dataDir = mkdtempSync(path.join(tmpdir(), "bionicpro-crash-"));
  logFile = path.join(tmpdir(), `bionicpro-crash-${run.runId}.log`);
  log(`run ${run.runId}: ClickHouse at ${dataDir}, consumer log ${logFile}`);
  await generate({ ...run.dbs, scale: 1, seed: 17, telemetryDensity: 0.05, progress: false });
  for (const [source, db] of [
    ["crm", run.dbs.crmDb],
    ["telemetry", run.dbs.telemetryDb],
  ] as const) {
    for (const table of tablesOf(source)) snapshotCounts.set(table, await countRows(db, table));
  }
  log(`seed data: ${[...snapshotCounts].map(([t, n]) => `${t} ${n}`).join(", ")}`);
  await startConnectors(run);
}, 600_000);

afterAll(async () => {
  for (const proc of children) {
    if (!proc.exit) await killConsumer(proc).catch(() => undefined);
  }
  if (run) await closeCdcRun(run);
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  // The consumers' output is kept for a failed run only.
  if (passed && logFile) rmSync(logFile, { force: true });
  else if (logFile) log(`consumer output kept in ${logFile}`);
}, 120_000);

describe("exactly-once under crashes", () => {
  it(`SIGKILL the consumer ${MIN_KILLS}+ times during ${MIN_CHANGES} changes: zero differences`, async () => {
    const started = Date.now();
    const rng = prng(SEED);
    const kills: { incarnation: number; pid: number; delayMs: number; joinMs: number; committed: number }[] =
      [];
    let consumer = startConsumer();

    const stop = new AbortController();
    let summary: SimulateSummary | undefined;
    let simulationError: unknown;
    const simulation = simulate({
      ...run!.dbs,
      rate: RATE,
      maxChanges: MIN_CHANGES,
      seed: SEED,
      signal: stop.signal,
      log: (line) => log(`simulate: ${line}`),
    }).then(
      (s) => {
        summary = s;
      },
      (error: unknown) => {
        simulationError = error;
      },
    );

    try {
      while (kills.length < MAX_KILLS && (kills.length < MIN_KILLS || (!summary && !simulationError))) {
        const spawnedAt = consumer.startedAt;
        await waitUntilConsuming(consumer, 120_000);
        const joinMs = Date.now() - spawnedAt;
        const delayMs = KILL_DELAY_MS.min + Math.floor(rng() * (KILL_DELAY_MS.max - KILL_DELAY_MS.min));
        await watch(consumer, delayMs);
        // The pid is node running main.ts itself, not an npx/npm wrapper that would leave it alive.
        expect(consumer.commandLine()).toBe(`${process.execPath} --import tsx ${CONSUMER_ENTRY}`);
        const exit = await killConsumer(consumer);
        expect(exit.signal).toBe("SIGKILL");
        const lag = await groupLag();
        kills.push({
          incarnation: consumer.incarnation,
          pid: consumer.pid,
          delayMs,
          joinMs,
          committed: lag.committed,
        });
        log(
          `kill #${kills.length}: consumer #${consumer.incarnation} (pid ${consumer.pid}) SIGKILLed ${delayMs} ms ` +
            `after joining (join took ${joinMs} ms); committed ${lag.committed}/${lag.records} records, ` +
            `simulate ${summary ? "done" : "running"}`,
        );
        consumer = startConsumer();
      }
    } catch (error) {
      stop.abort();
      throw error;
    } finally {
      if (!summary && !simulationError) log("kill loop over; waiting for simulate to finish");
      await simulation;
    }
    if (simulationError) throw simulationError;
    const changes = summary!;
    for (const line of formatSummary(changes)) log(`simulate: ${line}`);

    // Everything the sources did must be in Kafka before "caught up" means anything: per table,
    // the snapshot plus one record per inserted/updated row and two per deleted row (tombstones).
    const expected = new Map(
      [...snapshotCounts].map(([table, n]) => {
        const c = changes.changes[table];
        return [table, n + c.insert + c.update + 2 * c.delete] as const;
      }),
    );
    const cdcDeadline = Date.now() + 180_000;
    for (;;) {
      const counts = await topicCounts();
      const short = [...expected].filter(([table, n]) => (counts.get(table) ?? 0) < n);
      if (short.length === 0) {
        const over = [...expected].filter(([table, n]) => counts.get(table) !== n);
        if (over.length) log(`Debezium delivered more than expected (redelivery?): ${JSON.stringify(over)}`);
        break;
      }
      if (Date.now() > cdcDeadline) {
        throw new Error(
          `Debezium has not delivered every change: ${short
            .map(([t, n]) => `${t} ${counts.get(t)}/${n}`)
            .join(", ")}`,
        );
      }
      await sleep(500);
    }
    log(`Kafka holds every change (${[...expected.values()].reduce((a, b) => a + b, 0)} table records)`);

    // The last consumer runs undisturbed until the group has committed every record.
    await waitUntilConsuming(consumer, 120_000);
    const catchUpDeadline = Date.now() + 180_000;
    let lag = await groupLag();
    while (lag.behind > 0) {
      if (consumer.exit) throw new Error(`consumer exited while catching up:\n${tail(consumer)}`);
      if (Date.now() > catchUpDeadline) {
        throw new Error(`consumer not caught up after 180 s (${lag.behind} behind):\n${tail(consumer)}`);
      }
      await sleep(250);
      lag = await groupLag();
    }
    log(`caught up: ${lag.committed} records committed across the source topics`);
    const exit = await stopConsumer(consumer);
    expect(exit, tail(consumer)).toEqual({ code: 0, signal: null });

    const client = createClickHouseClient({ path: dataDir!, database: CLICKHOUSE_DATABASE });
    try {
      const result = await reconcile({
        ch: { client, database: CLICKHOUSE_DATABASE },
        pg: run!.dbs.pg,
        crmDb: run!.dbs.crmDb,
        telemetryDb: run!.dbs.telemetryDb,
      });
      log(
        `reconcile ${result.range.from}..${result.range.to}: ${result.marts
          .map((m) => `${m.mart} ${m.martRows}/${m.oracleRows}`)
          .join(", ")}; ${result.differenceCount} differences`,
      );
      // Chunks a killed consumer left open, repaired by its successor (docs/consumers.md "Crash repair").
      const repairs = [
        ...readFileSync(logFile, "utf8").matchAll(
          /repaired chunk \S+ left open by a consumer that died \((\d+) ms\)/g,
        ),
      ].map((m) => Number(m[1]));
      log(
        `${kills.length} kills, ${changes.total} changes, ${lag.records} records, ` +
          `${children.length} consumer starts, ${repairs.length} chunks repaired ` +
          `(longest ${Math.max(0, ...repairs)} ms), ${((Date.now() - started) / 1000).toFixed(0)} s`,
      );
      expect(kills.length).toBeGreaterThanOrEqual(MIN_KILLS);
      // Kills land while chunks are applied: at least one must have left an intent open.
      expect(repairs.length).toBeGreaterThan(0);
      expect(changes.total).toBeGreaterThanOrEqual(MIN_CHANGES);
      expect(result.marts.every((m) => m.oracleRows > 0)).toBe(true);
      expect(result.differenceCount, formatReconcileResult(result)).toBe(0);
      expect(result.ok, formatReconcileResult(result)).toBe(true);
      passed = true;
    } finally {
      await client.close();
    }
  }, 420_000);
});
