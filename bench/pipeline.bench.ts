import { appendFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { SOURCES } from "../connectors/sources.js";
import { loadConsumerConfig } from "../consumers/src/config.js";
import { startPipeline } from "../consumers/src/runtime/run.js";
import { CHANGE_TABLES, martChain, rebuildChain } from "../consumers/src/sink/crash-repair.js";
import { generate } from "../scripts/generate/index.js";
import { simulate } from "../scripts/simulate/index.js";
import { closeCdcRun, openCdcRun, startConnectors, topicRecordCount, waitFor } from "../test/harness/cdc.js";
import { groupLag } from "../consumers/src/lag.js";
import { RecordDecoder } from "../consumers/src/runtime/decode.js";
import { consumerOverrides } from "./config.js";

/**
 * `npm run bench`: consumer throughput from a pre-filled topic (and, in the same run, a plain kafkajs
 * consumer's that only fetches and decodes the same topics: the ratio), end-to-end freshness (PostgreSQL
 * commit -> row visible in ClickHouse) under `simulate --rate 1000`, the process's memory, and the
 * worst-case crash repair (every mart chain rebuilt from its change table).
 * Needs the native stack (`npm run stack -- up`). Results: bench/results/pipeline-<date>.md.
 */
const FRESHNESS_RATE = 1000;
const FRESHNESS_SECONDS = 30;
const log = (line: string): void => console.log(`[bench] ${line}`);

let peakRssMiB = 0;
const rssTimer = setInterval(() => {
  peakRssMiB = Math.max(peakRssMiB, Math.round(process.memoryUsage().rss / 1024 / 1024));
}, 200);

const percentile = (sorted: number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

const run = await openCdcRun();
const chDir = mkdtempSync(path.join(os.tmpdir(), "bench-ch-"));
try {
  log(`generating seed data into ${run.dbs.crmDb}, ${run.dbs.telemetryDb}`);
  await generate({ ...run.dbs, scale: 1, seed: 42, progress: false });
  let expected = 0;
  const topics: string[] = [];
  for (const source of ["crm", "telemetry"] as const) {
    for (const table of SOURCES[source].tables) {
      const client = new pg.Client({
        ...run.dbs.pg,
        password: run.dbs.pg.password,
        database: source === "crm" ? run.dbs.crmDb : run.dbs.telemetryDb,
      });
      await client.connect();
      expected += Number(
        (await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`)).rows[0]?.n,
      );
      await client.end();
      topics.push(run.topic(source, table));
    }
  }
  await startConnectors(run);
  log(`waiting for the snapshot of ${expected} rows to land in Kafka`);
  await waitFor(
    "snapshot",
    async () => {
      let n = 0;
      for (const topic of topics) n += await topicRecordCount(run, topic);
      return n >= expected ? n : undefined;
    },
    600_000,
  );

  // The baseline: a plain kafkajs consumer that only fetches and Avro-decodes the same topics (no
  // mapping, no ClickHouse, no bookkeeping), in this run, before the pipeline reads them.
  let dataRecords = 0;
  for (const topic of topics) dataRecords += await topicRecordCount(run, topic);
  const plain = run.kafka.consumer({ groupId: `bench-plain-${run.runId}` });
  const plainDecoder = new RecordDecoder(run.config.registryUrl);
  await plain.connect();
  await plain.subscribe({ topics, fromBeginning: true });
  let plainRead = 0;
  const plainStarted = Date.now();
  await new Promise<void>((resolve, reject) => {
    plain
      .run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          await plainDecoder.decodeChunk(batch.messages.map((m) => m.value));
          plainRead += batch.messages.length;
          if (plainRead >= dataRecords) resolve();
        },
      })
      .catch(reject);
  });
  const plainS = (Date.now() - plainStarted) / 1000;
  await plain.disconnect();
  const plainRate = Math.round(plainRead / plainS);
  log(
    `plain read + decode: ${plainRead} records in ${plainS.toFixed(1)} s = ${plainRate} records/s (incl. start-up)`,
  );

  const overrides = consumerOverrides();
  const config = loadConsumerConfig({
    ...overrides,
    KAFKA_BROKERS: run.config.kafkaBrokers.join(","),
    SCHEMA_REGISTRY_URL: run.config.registryUrl,
    TOPIC_PREFIX: run.topicPrefix,
    CONSUMER_GROUP: `bench-${run.runId}`,
    CLICKHOUSE_PATH: chDir,
    CLICKHOUSE_DATABASE: "reports",
  });
  const { end } = await groupLag(run.kafka, run.topicPrefix, config.group);
  const started = Date.now();
  const pipeline = await startPipeline(config, () => undefined);
  await waitFor(
    "the pipeline to drain the pre-filled topics",
    async () =>
      (await groupLag(run.kafka, run.topicPrefix, config.group)).committed >= end ? true : undefined,
    1_800_000,
  );
  const drainS = (Date.now() - started) / 1000;
  const throughput = Math.round(end / drainS);
  log(`throughput: ${end} records in ${drainS.toFixed(1)} s = ${throughput} records/s (incl. start-up)`);
  const rssAfterDrain = peakRssMiB;

  // Freshness: markers committed in PostgreSQL while simulate runs; each is timed until ClickHouse has it.
  const crm = new pg.Client({ ...run.dbs.pg, password: run.dbs.pg.password, database: run.dbs.crmDb });
  crm.on("error", () => undefined);
  await crm.connect();
  const abort = new AbortController();
  const load = simulate({
    ...run.dbs,
    rate: FRESHNESS_RATE,
    durationS: FRESHNESS_SECONDS,
    seed: 3,
    signal: abort.signal,
  });
  const [sub] = (
    await crm.query<{ user_id: number; subscription_id: number }>(
      "SELECT user_id, subscription_id FROM crm_subscriptions LIMIT 1",
    )
  ).rows;
  const samples: number[] = [];
  const client = pipeline.clickhouse;
  const deadline = Date.now() + FRESHNESS_SECONDS * 1000;
  // Negative ids: simulate allocates new ids after max(payment_id), markers must stay out of its way.
  for (let id = -1; Date.now() < deadline; id -= 1) {
    await crm.query(
      "INSERT INTO crm_payments (payment_id, user_id, subscription_id, payment_date, amount, payment_method, status) VALUES ($1, $2, $3, now(), 1.00, 'card', 'pending')",
      [id, sub?.user_id, sub?.subscription_id],
    );
    const committedAt = Date.now();
    for (;;) {
      const result = await client.query({
        query: "SELECT count() AS n FROM reports.payment_changes WHERE payment_id = {id:Int32}",
        query_params: { id },
        format: "JSONEachRow",
      });
      const [row] = await result.json<{ n: string }>();
      if (Number(row?.n) > 0) break;
      if (Date.now() - committedAt > 60_000) throw new Error(`marker ${id} not visible after 60 s`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    samples.push(Date.now() - committedAt);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const summary = await load;
  await crm.end();

  // Crash repair, worst case: a chunk that touched every month of every change table, so every
  // chain is rebuilt whole from its change table (docs/consumers.md "Crash repair").
  await pipeline.pipeline.stop();
  const rebuilds: string[] = [];
  let rebuildMs = 0;
  for (const root of CHANGE_TABLES) {
    const chain = await martChain(client, "reports", root);
    const result = await client.query({
      query: `SELECT count() AS n, groupUniqArray(_partition_id) AS ids FROM reports.${root}`,
      format: "JSONEachRow",
    });
    const [stats] = await result.json<{ n: string; ids: string[] }>();
    const rebuildStarted = Date.now();
    await rebuildChain(client, "reports", chain, stats?.ids ?? []);
    const ms = Date.now() - rebuildStarted;
    rebuildMs += ms;
    rebuilds.push(`${root} ${stats?.n} rows, ${chain.downstream.length} tables: ${ms} ms`);
  }
  log(`crash repair worst case: every chain rebuilt in ${rebuildMs} ms (${rebuilds.join("; ")})`);
  await pipeline.close();
  samples.sort((a, b) => a - b);
  const p50 = percentile(samples, 50);
  const p95 = percentile(samples, 95);
  log(
    `freshness under simulate --rate ${FRESHNESS_RATE} (achieved ${summary.achievedRate.toFixed(0)}/s): p50 ${p50} ms, p95 ${p95} ms, max ${samples.at(-1)} ms over ${samples.length} markers`,
  );

  const machine = `${os.cpus().length} × ${os.cpus()[0]?.model ?? "cpu"}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.platform()} ${os.release()}, node ${process.version}`;
  const date = new Date().toISOString();
  const settings = Object.entries(overrides)
    .map(([k, v]) => `${k}=${v}`)
    .join(" ");
  const report = [
    `## Run ${date}`,
    "",
    `- machine: ${machine}`,
    `- command: \`${settings ? `${settings} ` : ""}npm run bench\` (bench/pipeline.bench.ts), native stack running, ClickHouse embedded (chdb), consumer in the bench process`,
    `- consumer settings: ${settings || "defaults"} (chunk max wait ${config.chunkMaxWaitMs} ms, quiet ${config.chunkQuietMs} ms, max records ${config.chunkMaxRecords})`,
    "",
    "| measure | value |",
    "|---|---|",
    `| consumer throughput from pre-filled topics (${end} records, seed data scale 1, start-up included) | ${throughput} records/s (${drainS.toFixed(1)} s) |`,
    `| the same topics read and Avro-decoded by a plain kafkajs consumer, nothing else (${plainRead} records, start-up included) | ${plainRate} records/s (${plainS.toFixed(1)} s); the pipeline reaches **${(throughput / plainRate).toFixed(2)}x** of it |`,
    `| freshness, commit -> visible in ClickHouse, under simulate --rate ${FRESHNESS_RATE} (achieved ${summary.achievedRate.toFixed(0)}/s, ${FRESHNESS_SECONDS} s, ${samples.length} markers) | p50 ${p50} ms, p95 ${p95} ms, max ${samples.at(-1)} ms |`,
    `| peak RSS of the process (consumer + embedded ClickHouse) | ${rssAfterDrain} MiB after the drain, ${peakRssMiB} MiB overall |`,
    `| crash repair worst case: every mart chain rebuilt from its change table (a chunk touching every month) | ${(rebuildMs / 1000).toFixed(1)} s (${rebuilds.join("; ")}) |`,
    "",
  ].join("\n");
  mkdirSync(path.join("bench", "results"), { recursive: true });
  const file = path.join("bench", "results", `pipeline-${date.slice(0, 10)}.md`);
  // One file per day; each run appends its section.
  if (!existsSync(file)) writeFileSync(file, `# Pipeline benchmarks, ${date.slice(0, 10)}\n\n`);
  appendFileSync(file, `${report}\n`);
  log(`written to ${file}`);
  console.log(report);
} catch (error) {
  log(`failed: ${(error as Error).stack ?? String(error)}`);
  process.exitCode = 1;
} finally {
  clearInterval(rssTimer);
  await closeCdcRun(run).catch((error: unknown) => log(`cleanup: ${(error as Error).message}`));
  rmSync(chDir, { recursive: true, force: true });
}
