import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { loadConsumerConfig } from "../consumers/src/config.js";
import { dataTopics } from "../consumers/src/runtime/pipeline.js";
import { startPipeline } from "../consumers/src/runtime/run.js";
import { CHANGE_TABLES, martChain, rebuildChain } from "../consumers/src/sink/crash-repair.js";
import { generate, rowCount } from "../scripts/generate/index.js";
import { simulate } from "../scripts/simulate/index.js";
import { closeCdcRun, openCdcRun, startConnectors, topicRecordCount, waitFor } from "../test/harness/cdc.js";
import { groupLag } from "../consumers/src/lag.js";
import { RecordDecoder } from "../consumers/src/runtime/decode.js";
import { benchCommand, benchLever, consumerOverrides, kafkaEngineOverrides } from "./config.js";
import { measureKafkaEngine, type KafkaEngineReport } from "./kafka-engine.js";
import { cpuPerMillion, stackMemory, usageMeter, type PhaseUsage } from "./process-usage.js";
import { profileMarkdown, startCpuProfile } from "./cpu-profile.js";
import { appendResults, machineLine, packageVersion, writeResultsJson } from "./results-file.js";

/**
 * `npm run bench`: consumer throughput from a pre-filled topic and, in the same run over the same
 * topics, two baselines: a plain kafkajs consumer that only fetches and decodes them, and ClickHouse's
 * own Kafka table engine (chDB, own process and data dir) reading them into the same change tables
 * (bench/kafka-engine.ts); CPU seconds per million changes and peak RSS of each phase (and the stack's
 * JVMs', from /proc), end-to-end freshness (PostgreSQL commit -> row visible in ClickHouse) under
 * `simulate --rate 1000`, and the worst-case crash repair (every mart chain rebuilt from its change table).
 * Needs the native stack (`npm run stack -- up`); a stack started from another checkout is found
 * through BIONICPRO_STATE_DIR (its pid files, for the JVMs' figures).
 * Results: bench/results/pipeline-<date>.md (appended) and pipeline-<timestamp>.json.
 */
const FRESHNESS_RATE = 1000;
const FRESHNESS_SECONDS = 30;
const log = (line: string): void => console.log(`[bench] ${line}`);

const percentile = (sorted: number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

const run = await openCdcRun();
const meter = usageMeter(run.config.stateDir);
const usages: Record<string, PhaseUsage> = {};
const chDir = mkdtempSync(path.join(os.tmpdir(), "bench-ch-"));
try {
  log(`generating seed data into ${run.dbs.crmDb}, ${run.dbs.telemetryDb}`);
  await generate({ ...run.dbs, scale: 1, seed: 42, progress: false });
  const expected = await rowCount(run.dbs);
  const topics = dataTopics(run.topicPrefix);
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

  const overrides = consumerOverrides();
  /** A drain's consumer: the run's topics, its own group and data dir, the CONSUMER_* overrides. */
  const drainConfig = (group: string, dir: string, env: Record<string, string> = {}) =>
    loadConsumerConfig({
      ...overrides,
      ...env,
      KAFKA_BROKERS: run.config.kafkaBrokers.join(","),
      SCHEMA_REGISTRY_URL: run.config.registryUrl,
      TOPIC_PREFIX: run.topicPrefix,
      CONSUMER_GROUP: group,
      CLICKHOUSE_PATH: dir,
      CLICKHOUSE_DATABASE: "reports",
    });
  const config = drainConfig(`bench-${run.runId}`, chDir);
  // The baseline: a plain kafkajs consumer that only fetches and Avro-decodes the same topics (no
  // mapping, no ClickHouse, no bookkeeping), in this run, before the pipeline reads them.
  const perTopic: Record<string, number> = {};
  for (const topic of topics) perTopic[topic] = await topicRecordCount(run, topic);
  const dataRecords = Object.values(perTopic).reduce((a, b) => a + b, 0);
  const schemaIds: Record<string, number> = {};
  const plain = run.kafka.consumer({ groupId: `bench-plain-${run.runId}` });
  const plainDecoder = new RecordDecoder(run.config.registryUrl);
  await plain.connect();
  await plain.subscribe({ topics, fromBeginning: true });
  let plainRead = 0;
  const endPlain = meter.phase();
  await new Promise<void>((resolve, reject) => {
    plain
      .run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          // The writer schema id of each topic, for the Kafka engine's table declarations.
          const first = batch.messages.find((m) => m.value)?.value;
          if (first && schemaIds[batch.topic] === undefined) schemaIds[batch.topic] = first.readInt32BE(1);
          await plainDecoder.decodeChunk(batch.messages.map((m) => m.value));
          plainRead += batch.messages.length;
          if (plainRead >= dataRecords) resolve();
        },
      })
      .catch(reject);
  });
  usages.plain = endPlain();
  const plainS = usages.plain.wallS;
  await plain.disconnect();
  const plainRate = Math.round(plainRead / plainS);
  log(
    `plain read + decode: ${plainRead} records in ${plainS.toFixed(1)} s = ${plainRate} records/s (incl. start-up)`,
  );

  // The second baseline: ClickHouse's Kafka table engine over the same topics, in its own process
  // and data dir, batching like our consumer (block = our chunk's records, flush = our chunk's wait).
  const kafkaEngineSettings = {
    kafka_num_consumers: 1,
    kafka_thread_per_consumer: 1,
    kafka_max_block_size: config.chunkMaxRecords,
    kafka_poll_max_batch_size: config.chunkMaxRecords,
    kafka_flush_interval_ms: config.chunkMaxWaitMs,
    ...kafkaEngineOverrides(),
  };
  let kafkaEngine: KafkaEngineReport | { error: string };
  // In the bench process only the stack's CPU matters here (it waits for the child).
  const endKafkaEngine = meter.phase();
  try {
    kafkaEngine = await measureKafkaEngine(
      {
        database: "reports",
        brokers: run.config.kafkaBrokers,
        registryUrl: run.config.registryUrl,
        topicPrefix: run.topicPrefix,
        groupId: `bench-kafka-engine-${run.runId}`,
        expected: perTopic,
        schemaIds,
        settings: kafkaEngineSettings,
        timeoutMs: 1_800_000,
      },
      log,
    );
    log(
      `Kafka engine: ${kafkaEngine.records} records in ${kafkaEngine.seconds.toFixed(1)} s = ${Math.round(kafkaEngine.records / kafkaEngine.seconds)} records/s (incl. start-up)`,
    );
  } catch (error) {
    kafkaEngine = { error: (error as Error).message };
    log(`Kafka engine baseline failed: ${kafkaEngine.error}`);
  }
  usages.kafkaEngineWait = endKafkaEngine();

  const { end } = await groupLag(run.kafka, run.topicPrefix, config.group);
  /** Until `group` has committed the pre-filled topics' end offsets. */
  const untilDrained = (what: string, group: string) =>
    waitFor(
      what,
      async () => ((await groupLag(run.kafka, run.topicPrefix, group)).committed >= end ? true : undefined),
      1_800_000,
    );
  // A lever side by side (BENCH_LEVER): the same drain without it, then with it, both unprofiled,
  // each on a fresh group and data dir.
  const lever = benchLever();
  const leverDrains: { name: string; env: Record<string, string>; recordsPerS: number; usage: PhaseUsage }[] =
    [];
  if (lever) {
    for (const value of lever.values) {
      const name = `${lever.name}=${value}`;
      const dir = mkdtempSync(path.join(os.tmpdir(), "bench-ch-lever-"));
      const env = { [lever.name]: value };
      const leverConfig = drainConfig(`bench-${run.runId}-${value}`, dir, env);
      const endLever = meter.phase();
      const drained = await startPipeline(leverConfig, () => undefined);
      await untilDrained(`the ${name} drain`, leverConfig.group);
      const usage = endLever();
      await drained.close();
      rmSync(dir, { recursive: true, force: true });
      const recordsPerS = Math.round(end / usage.wallS);
      leverDrains.push({ name, env, recordsPerS, usage });
      usages[`lever ${name}`] = usage;
      log(`${name}: ${end} records in ${usage.wallS.toFixed(1)} s = ${recordsPerS} records/s`);
    }
  }
  const endDrain = meter.phase();
  // Where the drain's main-thread time goes (the issue's "where the time goes": a CPU profile).
  const stopProfile = await startCpuProfile("pipeline-drain");
  const pipeline = await startPipeline(config, () => undefined);
  await untilDrained("the pipeline to drain the pre-filled topics", config.group);
  usages.drain = endDrain();
  const drainProfile = await stopProfile();
  const drainS = usages.drain.wallS;
  const clickhouseVersion = await pipeline.clickhouse
    .query({ query: "SELECT version() AS v", format: "JSONEachRow" })
    .then((r) => r.json<{ v: string }>())
    .then(([row]) => row?.v ?? "unknown");
  const throughput = Math.round(end / drainS);
  log(`throughput: ${end} records in ${drainS.toFixed(1)} s = ${throughput} records/s (incl. start-up)`);

  // Freshness: markers committed in PostgreSQL while simulate runs; each is timed until ClickHouse has it.
  const endFreshness = meter.phase();
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
  usages.freshness = endFreshness();

  // Crash repair, worst case: a chunk that touched every month of every change table, so every
  // chain is rebuilt whole from its change table (docs/consumers.md "Crash repair").
  await pipeline.pipeline.stop();
  const endRepair = meter.phase();
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
  usages.repair = endRepair();
  log(`crash repair worst case: every chain rebuilt in ${rebuildMs} ms (${rebuilds.join("; ")})`);
  await pipeline.close();
  samples.sort((a, b) => a - b);
  const p50 = percentile(samples, 50);
  const p95 = percentile(samples, 95);
  log(
    `freshness under simulate --rate ${FRESHNESS_RATE} (achieved ${summary.achievedRate.toFixed(0)}/s): p50 ${p50} ms, p95 ${p95} ms, max ${samples.at(-1)} ms over ${samples.length} markers`,
  );

  const connect = (await fetch(run.config.connectUrl).then((r) => r.json())) as { version?: string };
  const stack = stackMemory(run.config.stateDir);
  const date = new Date();
  const settings = Object.entries(overrides)
    .map(([k, v]) => `${k}=${v}`)
    .join(" ");
  const command = benchCommand("bench");
  const versions = {
    node: process.version,
    clickhouse: `${clickhouseVersion} (chdb ${packageVersion("chdb")})`,
    kafkajs: packageVersion("kafkajs"),
    kafka: connect.version ?? "unknown",
  };
  const ke = "error" in kafkaEngine ? undefined : kafkaEngine;
  const keRate = ke ? Math.round(ke.records / ke.seconds) : undefined;
  const processMaxRssMiB = Math.round(process.resourceUsage().maxRSS / 1024);
  const stackCpu = (u: PhaseUsage) =>
    Object.entries(u.stackCpuS)
      .map(([k, v]) => `${k} ${v} s`)
      .join(", ") || "-";
  const usageRow = (what: string, u: PhaseUsage | undefined, records?: number) =>
    u
      ? `| ${what} | ${u.wallS.toFixed(1)} s | ${u.cpuS.toFixed(1)} s | ${records ? `${cpuPerMillion(u.cpuS, records)} s` : "-"} | ${u.peakRssMiB} MiB | ${stackCpu(u)} |`
      : `| ${what} | not run | | | | |`;
  const lines = [
    `- machine: ${machineLine()} (shared with other work: every figure is on a loaded host)`,
    `- versions: node ${versions.node}, ClickHouse ${versions.clickhouse}, kafkajs ${versions.kafkajs}, Kafka ${versions.kafka}`,
    `- command: \`${command}\` (bench/pipeline.bench.ts), native stack running, ClickHouse embedded (chdb), consumer in the bench process`,
    `- consumer settings: ${settings || "defaults"} (chunk max wait ${config.chunkMaxWaitMs} ms, quiet ${config.chunkQuietMs} ms, max records ${config.chunkMaxRecords})`,
    `- Kafka engine settings: ${Object.entries(kafkaEngineSettings)
      .map(([k, v]) => `${k}=${v}`)
      .join(
        ", ",
      )}; one Kafka table and consumer group per topic, AvroConfluent through the registry's ccompat API`,
    "",
    "| measure | value |",
    "|---|---|",
    `| consumer throughput from pre-filled topics (${end} records, seed data scale 1, start-up included) | ${throughput} records/s (${drainS.toFixed(1)} s) |`,
    `| the same topics read and Avro-decoded by a plain kafkajs consumer, nothing else (${plainRead} records, start-up included) | ${plainRate} records/s (${plainS.toFixed(1)} s); the pipeline reaches **${(throughput / plainRate).toFixed(2)}x** of it |`,
    ke && keRate
      ? `| the same topics read by ClickHouse's Kafka table engine (chDB, own process and data dir) into the same change and dimension tables through materialized views (${ke.records} records, start-up included; no exactly-once, DLQ, resets or re-emission guard) | ${keRate} records/s (${ke.seconds.toFixed(1)} s); the pipeline reaches **${(throughput / keRate).toFixed(2)}x** of it |`
      : `| ClickHouse's Kafka table engine over the same topics | failed: ${"error" in kafkaEngine ? kafkaEngine.error : ""} |`,
    `| freshness, commit -> visible in ClickHouse, under simulate --rate ${FRESHNESS_RATE} (achieved ${summary.achievedRate.toFixed(0)}/s, ${FRESHNESS_SECONDS} s, ${samples.length} markers) | p50 ${p50} ms, p95 ${p95} ms, max ${samples.at(-1)} ms |`,
    `| peak RSS of the process (consumer + embedded ClickHouse) | ${usages.drain?.peakRssMiB} MiB during the drain, ${processMaxRssMiB} MiB over the run (maxRSS) |`,
    `| crash repair worst case: every mart chain rebuilt from its change table (a chunk touching every month) | ${(rebuildMs / 1000).toFixed(1)} s (${rebuilds.join("; ")}) |`,
    ...(lever && leverDrains.length === 2
      ? [
          `| lever ${lever.name}, side by side (BENCH_LEVER=${lever.name}=${lever.values.join(",")}: two more drains of the same ${end} records, unprofiled, fresh group and data dir each) | ${leverDrains
            .map(
              (d) =>
                `${d.name}: ${d.recordsPerS} records/s, ${cpuPerMillion(d.usage.cpuS, end)} s CPU per million, peak RSS ${d.usage.peakRssMiB} MiB`,
            )
            .join(
              "; ",
            )}; **${((leverDrains[1]?.recordsPerS ?? NaN) / (leverDrains[0]?.recordsPerS ?? NaN)).toFixed(2)}x** |`,
        ]
      : []),
    "",
    "Cost per phase. CPU: the process's user + system time (the embedded ClickHouse's threads included). The stack's JVMs are other processes: their CPU over the phase is read from /proc, and the stack is shared, so other work counts there too.",
    "",
    "| phase | wall | CPU | CPU per million changes | peak RSS | stack JVMs' CPU |",
    "|---|---|---|---|---|---|",
    usageRow("plain kafkajs read + decode (bench process)", usages.plain, plainRead),
    ke
      ? `| Kafka table engine (its own process, from the first CREATE) | ${ke.seconds.toFixed(1)} s | ${ke.cpuS.toFixed(1)} s | ${cpuPerMillion(ke.cpuS, ke.records)} s | ${ke.peakRssMiB} MiB (process life) | ${usages.kafkaEngineWait ? stackCpu(usages.kafkaEngineWait) : "-"} |`
      : "| Kafka table engine | failed | | | | |",
    usageRow("our consumer, drain (bench process)", usages.drain, end),
    usageRow(
      `freshness under simulate --rate ${FRESHNESS_RATE} (simulate and consumer in the bench process)`,
      usages.freshness,
    ),
    usageRow("crash repair", usages.repair),
    "",
    ...(ke
      ? [
          `Kafka engine, seconds until each target held all its rows: ${Object.entries(ke.completeAtS)
            .sort((x, y) => x[1] - y[1])
            .map(([t, at]) => `${t.replace(/^reports\./, "")} ${at.toFixed(1)}`)
            .join(
              ", ",
            )}.${ke.exceptions.length ? ` Exceptions it recorded in system.kafka_consumers and went on from: ${ke.exceptions.join("; ")}.` : ""}`,
          "",
        ]
      : []),
    Object.keys(stack).length
      ? `Stack JVMs at the end: ${Object.entries(stack)
          .map(([k, m]) => `${k} ${m.rssMiB} MiB RSS (peak ${m.peakMiB} MiB since it started)`)
          .join(", ")}.`
      : "Stack JVMs: no pid files under the state dir (set BIONICPRO_STATE_DIR to the stack's).",
    "",
    ...profileMarkdown(
      "our consumer's drain (main thread of the bench process; the engine's insert threads are not in it)",
      drainProfile,
    ),
  ];
  const file = appendResults("pipeline", "Pipeline benchmarks", `Run ${date.toISOString()}`, lines, date);
  const json = writeResultsJson(
    "pipeline",
    {
      command,
      versions,
      consumerSettings: {
        ...overrides,
        chunkMaxWaitMs: config.chunkMaxWaitMs,
        chunkQuietMs: config.chunkQuietMs,
        chunkMaxRecords: config.chunkMaxRecords,
      },
      kafkaEngineSettings,
      throughput: {
        pipeline: { records: end, seconds: drainS, recordsPerS: throughput },
        plain: { records: plainRead, seconds: plainS, recordsPerS: plainRate, ratio: throughput / plainRate },
        kafkaEngine: ke && keRate ? { ...ke, recordsPerS: keRate, ratio: throughput / keRate } : kafkaEngine,
      },
      cpuPerMillion: {
        pipeline: cpuPerMillion(usages.drain?.cpuS ?? NaN, end),
        plain: cpuPerMillion(usages.plain?.cpuS ?? NaN, plainRead),
        kafkaEngine: ke ? cpuPerMillion(ke.cpuS, ke.records) : null,
      },
      freshness: {
        rate: FRESHNESS_RATE,
        achievedRate: summary.achievedRate,
        seconds: FRESHNESS_SECONDS,
        markers: samples.length,
        p50,
        p95,
        maxMs: samples.at(-1),
      },
      phases: usages,
      drainProfile,
      processMaxRssMiB,
      stackMemory: stack,
      crashRepair: { ms: rebuildMs, chains: rebuilds },
      lever: lever
        ? {
            name: lever.name,
            drains: leverDrains.map((d) => ({
              name: d.name,
              env: d.env,
              recordsPerS: d.recordsPerS,
              cpuPerMillion: cpuPerMillion(d.usage.cpuS, end),
              peakRssMiB: d.usage.peakRssMiB,
            })),
          }
        : null,
    },
    date,
  );
  log(`written to ${file} and ${json}`);
  console.log(lines.join("\n"));
} catch (error) {
  log(`failed: ${(error as Error).stack ?? String(error)}`);
  process.exitCode = 1;
} finally {
  meter.stop();
  await closeCdcRun(run).catch((error: unknown) => log(`cleanup: ${(error as Error).message}`));
  rmSync(chDir, { recursive: true, force: true });
}
