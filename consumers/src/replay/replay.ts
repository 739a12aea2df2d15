import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { ClickHouseClient } from "@clickhouse/client";
import { Kafka, logLevel, type Admin } from "kafkajs";
import { createClickHouseClient, type ClickHouseOptions } from "../../../clickhouse/client.js";
import { migrate } from "../../../clickhouse/migrate.js";
import type { ConsumerConfig } from "../config.js";
import { parseTopicTable } from "../mapping/map-change.js";
import { reconcile, type PgConnection, type ReconcileResult } from "../reconcile/index.js";
import { RecordDecoder } from "../runtime/decode.js";
import { kafkaLogCreator } from "../runtime/kafka-log.js";
import { partitionKey } from "../runtime/partition-state.js";
import { isHeartbeatTopic, MartsPipeline, sourceTopics } from "../runtime/pipeline.js";
import { ReplayError } from "./errors.js";
import {
  appliedPositions,
  behind,
  endOffsets,
  formatFrom,
  parseFrom,
  reachedBounds,
  replayProgress,
  spanKey,
  startOffsets,
} from "./positions.js";
import {
  databaseExists,
  readRun,
  recordRun,
  shadowDatabase,
  type PartitionSpan,
  type ReplayRun,
} from "./run-state.js";
import { readCatalogue } from "./catalogue.js";
import { replayScope, type ReplayScope } from "./scope.js";
import { copyTables, exchangeStatement, swappedTables, tablesOf } from "./swap.js";

export type ReplayPhase = "replay" | "reconcile" | "catch-up" | "swap";

export interface ReplayProgress {
  phase: ReplayPhase;
  /** Offsets applied to the shadow so far (this run and earlier attempts of it). */
  done: number;
  total: number;
}

export interface ReplayOptions {
  /** The live database and how to reach ClickHouse; the replay opens a connection of its own. */
  clickhouse: ClickHouseOptions;
  /** The live consumers' configuration (brokers, registry, topic prefix, group, chunking). */
  consumer: ConsumerConfig;
  /** The oracle the shadow is reconciled with. */
  oracle: { pg: PgConnection; crmDb: string; telemetryDb: string };
  /** `earliest` (default) or an ISO time. */
  from?: string;
  /**
   * Replay only these source tables (validated names, scope.ts parseTables) and what they feed: the
   * closure is rebuilt, reconciled and swapped, nothing else (docs/replay.md "Some tables").
   * Unset: every table.
   */
  tables?: readonly string[];
  /** Swap even when the shadow differs from the oracle. */
  force?: boolean;
  /** Drop a shadow left by an earlier run instead of resuming it. */
  restart?: boolean;
  /**
   * The live pipeline when it runs in this process (embedded default: `npm start`). It keeps applying
   * while the shadow is rebuilt; its writes are held only while the shadow catches up to its position
   * and the tables are exchanged. Without it, nothing may write the live database during the replay
   * (embedded: no other process can; server mode: stop the consumers), which the swap checks.
   */
  live?: MartsPipeline;
  signal?: AbortSignal;
  log: (line: string) => void;
  onProgress?: (progress: ReplayProgress) => void;
  /** Longest wait for the live group to reach the replay's end offsets. @default 600000 */
  liveWaitMs?: number;
}

export interface ReplayResult {
  runId: string;
  shadow: string;
  from: string;
  /** True when this call continued a shadow left by an interrupted run. */
  resumed: boolean;
  /** Records the replay applied in this call (bulk and catch-up). */
  records: number;
  /** Offsets of the whole run (every attempt). */
  total: number;
  replayMs: number;
  /** records / replayMs. */
  changesPerSecond: number;
  reconcileMs: number;
  /** How long the live pipeline's writes were held (catch-up and exchange). */
  heldMs: number;
  reconcile: { ok: boolean; differenceCount: number; marts: { mart: string; differences: number }[] };
  swapped: string[];
  /** What a `--tables` run covered (null: every table). */
  scope: ReplayScope | null;
}

const POLL_MS = 250;

const isDataTopic = (topic: string): boolean => !isHeartbeatTopic(topic);

/** The topics a run replays: every data topic, or those of its scope's source tables. */
const replayedTopic =
  (scope: ReplayScope | null) =>
  (topic: string): boolean =>
    isDataTopic(topic) && (scope === null || scope.sources.includes(parseTopicTable(topic).table));

async function scopeOf(
  client: ClickHouseClient,
  database: string,
  tables: readonly string[] | null,
): Promise<ReplayScope | null> {
  return tables === null ? null : replayScope(await readCatalogue(client, database), tables);
}

const sameTables = (a: readonly string[] | null, b: readonly string[] | null): boolean =>
  (a === null ? "*" : [...a].sort().join()) === (b === null ? "*" : [...b].sort().join());

function boundsOf(spans: readonly PartitionSpan[]): Map<string, bigint> {
  return new Map(spans.map((s) => [partitionKey(s.topic, s.partition), s.bound]));
}

async function withAdmin<T>(kafka: Kafka, work: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await work(admin);
  } finally {
    await admin.disconnect();
  }
}

/**
 * `replay`: rebuilds the marts from Kafka into a shadow database with the consumers' own code (a
 * MartsPipeline of a group of its own, bounded), reconciles the shadow with the oracle, brings it to
 * exactly the live group's applied position, and exchanges every data table of the two databases in
 * one statement; then drops the shadow. Interrupted (abort, kill), a rerun resumes: the run's
 * decisions are in the shadow (replay_run) and its progress in the shadow's own state tables.
 * docs/replay.md explains why the swapped marts and the live group's position agree.
 */
export async function runReplay(options: ReplayOptions): Promise<ReplayResult> {
  const { consumer, log } = options;
  const liveDb = options.clickhouse.database;
  const shadow = shadowDatabase(liveDb);
  const client = createClickHouseClient(options.clickhouse);
  const kafka = new Kafka({
    clientId: `replay-${process.pid}`,
    brokers: consumer.brokers,
    logLevel: logLevel.WARN,
    logCreator: kafkaLogCreator(log),
  });
  try {
    const { run, resumed } = await openRun(client, kafka, options, shadow);
    const scope = await scopeOf(client, options.clickhouse.database, run.tables);
    if (scope) {
      log(
        `replaying ${scope.sources.join(", ")} (asked: ${scope.requested.join(", ")}): rebuilding ` +
          `${scope.tables.join(", ")}; reconciling ${scope.marts.join(", ")}`,
      );
    }
    return await replayRun(client, kafka, options, shadow, run, resumed, scope);
  } finally {
    await client.close();
  }
}

/** Drops the shadow database and deletes the replay's consumer group (`group`, when known). */
async function dropShadow(
  client: ClickHouseClient,
  kafka: Kafka,
  shadow: string,
  group: string | undefined,
  log: (line: string) => void,
): Promise<void> {
  await client.command({ query: `DROP DATABASE IF EXISTS ${shadow} SYNC` });
  if (group !== undefined) await deleteGroup(kafka, group, log);
}

/**
 * How long deleteGroup waits for a group's members to go: a killed member's session (10 s by default,
 * at most 30 s: CONSUMER_SESSION_TIMEOUT_MS), counted from the kill, which came before this wait.
 */
const GROUP_EMPTY_WAIT_MS = 30_000;

/**
 * Deletes a replay's consumer group. Kafka refuses while the group has members, and a killed run's
 * member stays until its session times out: retried each second for up to GROUP_EMPTY_WAIT_MS. A
 * group already gone is fine; any other failure is logged (the group holds offsets only).
 */
async function deleteGroup(kafka: Kafka, group: string, log: (line: string) => void): Promise<void> {
  const started = Date.now();
  await withAdmin(kafka, async (admin) => {
    for (;;) {
      try {
        await admin.deleteGroups([group]);
        return;
      } catch (error) {
        const type = (error as { groups?: { error?: { type?: string } }[] }).groups?.[0]?.error?.type;
        if (type === "GROUP_ID_NOT_FOUND") return;
        if (type === "NON_EMPTY_GROUP" && Date.now() - started < GROUP_EMPTY_WAIT_MS) {
          await new Promise((resolve) => setTimeout(resolve, 1000));
          continue;
        }
        throw error;
      }
    }
  }).catch((error: unknown) =>
    log(`could not delete the replay's consumer group ${group}: ${(error as Error).message}`),
  );
}

/**
 * Drops the shadow an interrupted replay left (a killed or stopped run: docs/replay.md) and deletes
 * its consumer group, so that the next replay starts over instead of resuming it (`--restart`, and a
 * benchmark that must measure a whole replay). Returns the dropped run's id ("unrecorded" for a
 * shadow whose run was never recorded); undefined when there was no shadow.
 */
export async function abandonReplay(
  client: ClickHouseClient,
  kafka: Kafka,
  liveDatabase: string,
  log: (line: string) => void,
): Promise<string | undefined> {
  const shadow = shadowDatabase(liveDatabase);
  if (!(await databaseExists(client, shadow))) return undefined;
  const run = await readRun(client, shadow);
  await dropShadow(client, kafka, shadow, run?.group, log);
  return run?.runId ?? "unrecorded";
}

async function openRun(
  client: ClickHouseClient,
  kafka: Kafka,
  options: ReplayOptions,
  shadow: string,
): Promise<{ run: ReplayRun; resumed: boolean }> {
  const { consumer, log } = options;
  const from = parseFrom(options.from);
  if (options.restart) {
    const dropped = await abandonReplay(client, kafka, options.clickhouse.database, log);
    if (dropped) log(`dropped the shadow database ${shadow} of run ${dropped} (--restart)`);
  }
  if (await databaseExists(client, shadow)) {
    const existing = await readRun(client, shadow);
    if (existing) {
      if (options.from !== undefined && existing.from !== formatFrom(from)) {
        throw new ReplayError(
          "REPLAY_OTHER_RUN",
          `${shadow} holds an interrupted replay from ${existing.from}, not ${formatFrom(from)}: ` +
            "rerun without --from to resume it, or with --restart to start over",
        );
      }
      if (options.tables !== undefined && !sameTables(existing.tables, options.tables)) {
        throw new ReplayError(
          "REPLAY_OTHER_RUN",
          `${shadow} holds an interrupted replay of ${existing.tables?.join(",") ?? "every table"}, ` +
            `not ${options.tables.join(",")}: rerun without --tables to resume it, or with --restart to start over`,
        );
      }
      log(`resuming replay ${existing.runId} into ${shadow} (group ${existing.group})`);
      return { run: existing, resumed: true };
    }
  }
  await migrate(client, shadow);
  const tables = options.tables === undefined ? null : [...options.tables];
  const replays = replayedTopic(await scopeOf(client, options.clickhouse.database, tables));
  const topics = sourceTopics(consumer.topicPrefix);
  const runId = randomBytes(4).toString("hex");
  const group = `${consumer.group}-replay-${runId}`;
  const { starts, ends, bounds } = await withAdmin(kafka, async (admin) => ({
    starts: await startOffsets(admin, topics, from),
    ends: await endOffsets(admin, topics),
    // With the live pipeline in this process: the end offsets now (it keeps going; the shadow catches
    // up to it before the swap). Without: the live group's position, which nothing moves meanwhile.
    bounds: options.live
      ? await endOffsets(admin, topics)
      : await appliedPositions(client, options.clickhouse.database, consumer.group, true),
  }));
  const spans: PartitionSpan[] = [...starts].map(([key, start]) => {
    const [topic, partition] = [
      key.slice(0, key.lastIndexOf(":")),
      Number(key.slice(key.lastIndexOf(":") + 1)),
    ];
    // Heartbeat topics carry no rows: the shadow skips them (freshness stays the live group's). So
    // does a partial replay the topics outside its scope: it starts them at their end (nothing old
    // is fetched) and applies nothing of them.
    if (!replays(topic)) {
      return { topic, partition, start: isDataTopic(topic) ? (ends.get(key) ?? start) : start, bound: 0n };
    }
    return { topic, partition, start, bound: bounds.get(key) ?? 0n };
  });
  // The group starts at the spans' starts; one topic at a time (kafkajs sets offsets through a
  // consumer of the group, and a group with a member refuses the next one).
  await withAdmin(kafka, async (admin) => {
    for (const topic of topics) {
      await admin.setOffsets({
        groupId: group,
        topic,
        partitions: spans
          .filter((s) => s.topic === topic)
          .map((s) => ({ partition: s.partition, offset: s.start.toString() })),
      });
    }
  });
  const run: ReplayRun = { runId, group, from: formatFrom(from), tables, spans };
  await recordRun(client, shadow, run);
  log(
    `replay ${runId}: ${shadow} from ${run.from} as group ${group}, ${replayProgress(spans, new Map()).total} offsets`,
  );
  return { run, resumed: false };
}

async function replayRun(
  client: ClickHouseClient,
  kafka: Kafka,
  options: ReplayOptions,
  shadow: string,
  run: ReplayRun,
  resumed: boolean,
  scope: ReplayScope | null,
): Promise<ReplayResult> {
  const { consumer, log, live } = options;
  const replays = replayedTopic(scope);
  const pipeline = new MartsPipeline({
    config: { ...consumer, group: run.group, clickhouse: { ...options.clickhouse, database: shadow } },
    kafka,
    clickhouse: client,
    decoder: new RecordDecoder(consumer.registryUrl),
    log: (line) => log(`[shadow] ${line}`),
    bounds: boundsOf(run.spans),
  });
  let stopped: Promise<void> | undefined;
  const stopPipeline = () => (stopped ??= pipeline.stop());
  const shadowAt = () => appliedPositions(client, shadow, run.group, false);
  const report = async (phase: ReplayPhase, spans: readonly PartitionSpan[]) => {
    const positions = await shadowAt();
    options.onProgress?.({ phase, ...replayProgress(spans, positions) });
    return reachedBounds(spans, positions);
  };
  /** Polls until the shadow reached every span's bound; stops on abort or a failed pipeline. */
  const untilReached = async (phase: ReplayPhase, spans: readonly PartitionSpan[]) => {
    while (!(await report(phase, spans))) {
      if (pipeline.error) throw pipeline.error;
      if (options.signal?.aborted) throw new ReplayError("REPLAY_ABORTED", "replay aborted; rerun to resume");
      await sleep(POLL_MS);
    }
  };
  /** The run's spans with the live group's applied positions as bounds (heartbeats stay out). */
  const spansTo = (positions: ReadonlyMap<string, bigint>): PartitionSpan[] =>
    run.spans.map((s) => ({
      ...s,
      bound: replays(s.topic) ? (positions.get(spanKey(s.topic, s.partition)) ?? 0n) : 0n,
    }));
  /** Waits for the live group to pass the run's bounds, then brings the shadow to its position. */
  const caughtUpToLive = async (spans: readonly PartitionSpan[]): Promise<PartitionSpan[]> => {
    await waitForLive(client, options, spans);
    const target = spansTo(
      await appliedPositions(client, options.clickhouse.database, consumer.group, false),
    );
    pipeline.extendBounds(boundsOf(target));
    await untilReached("catch-up", target);
    return target;
  };
  const started = performance.now();
  const liveDb = options.clickhouse.database;
  try {
    // A partial replay's inputs (tables a rebuilt view or a reconciled mart reads, that it does not
    // rebuild) are in the shadow as they are live: before the replay for the views, again before
    // the reconcile for the marts. They are never swapped.
    if (scope) await copyTables(client, liveDb, shadow, scope.inputs);
    await pipeline.start();
    await untilReached("replay", run.spans);
    const replayMs = performance.now() - started;
    const records = pipeline.stats.records;
    log(
      `shadow ${shadow} reached the run's end offsets: ${records} record(s) in ${(replayMs / 1000).toFixed(1)} s`,
    );

    // Bring the shadow to where the live group is now (without holding it), so that the shadow is
    // compared with the oracle at the same point as the live marts would be.
    const liveNow = live ? await caughtUpToLive(run.spans) : run.spans;

    options.onProgress?.({ phase: "reconcile", ...replayProgress(liveNow, await shadowAt()) });
    const reconcileStarted = performance.now();
    if (scope) await copyTables(client, liveDb, shadow, scope.inputs);
    const checked = await reconcile({
      ch: { client, database: shadow },
      ...options.oracle,
      ...(scope ? { marts: scope.marts } : {}),
    });
    const reconcileMs = performance.now() - reconcileStarted;
    log(
      `reconcile ${shadow}: ${checked.differenceCount} difference(s) in ${(reconcileMs / 1000).toFixed(1)} s`,
    );
    if (!checked.ok && !options.force) {
      throw new ReplayError(
        "REPLAY_DIFFERENCES",
        `the shadow ${shadow} differs from the oracle in ${checked.differenceCount} cell(s); nothing swapped. ` +
          "Inspect it with `npm run reconcile -- --json` (CLICKHOUSE_DATABASE=" +
          shadow +
          "), " +
          "rerun to try again (the sources must be quiet), or pass --force",
      );
    }

    const heldStarted = performance.now();
    const release = live ? await live.holdWrites() : () => undefined;
    let swapped: string[];
    try {
      const target = spansTo(
        await appliedPositions(client, options.clickhouse.database, consumer.group, true),
      );
      if (live) {
        pipeline.extendBounds(boundsOf(target));
        await untilReached("catch-up", target);
      } else {
        const moved = target.filter((t, i) => t.bound !== run.spans[i]?.bound);
        if (moved.length > 0) {
          throw new ReplayError(
            "REPLAY_LIVE_MOVED",
            `the live group ${consumer.group} applied records during the replay (${moved
              .map((m) => spanKey(m.topic, m.partition))
              .join(", ")}): stop the consumers, or run the replay inside \`npm start\` (docs/replay.md); ` +
              "rerun to resume",
          );
        }
      }
      await stopPipeline();
      options.onProgress?.({ phase: "swap", ...replayProgress(target, await shadowAt()) });
      swapped = await swap(client, options, shadow, scope);
    } finally {
      release();
    }
    const heldMs = performance.now() - heldStarted;
    log(
      `swapped ${swapped.length} table(s) into ${options.clickhouse.database}; live writes held ${heldMs.toFixed(0)} ms`,
    );
    await dropShadow(client, kafka, shadow, run.group, log);
    const total = pipeline.stats.records;
    return {
      runId: run.runId,
      shadow,
      from: run.from,
      resumed,
      records: total,
      total: replayProgress(run.spans, new Map()).total,
      replayMs: Math.round(replayMs),
      changesPerSecond: replayMs > 0 ? Math.round((records / replayMs) * 1000) : 0,
      reconcileMs: Math.round(reconcileMs),
      heldMs: Math.round(heldMs),
      reconcile: summary(checked),
      swapped,
      scope,
    };
  } finally {
    await stopPipeline();
  }
}

const summary = (result: ReconcileResult): ReplayResult["reconcile"] => ({
  ok: result.ok,
  differenceCount: result.differenceCount,
  marts: result.marts.map((m) => ({ mart: m.mart, differences: m.differences.length })),
});

/** Waits until the live group has applied at least up to the replay's bounds on every data partition. */
async function waitForLive(
  client: ClickHouseClient,
  options: ReplayOptions,
  spans: readonly PartitionSpan[],
): Promise<void> {
  const deadline = Date.now() + (options.liveWaitMs ?? 600_000);
  for (;;) {
    const lagging = behind(
      spans,
      await appliedPositions(client, options.clickhouse.database, options.consumer.group, false),
    );
    if (lagging.length === 0) return;
    if (options.signal?.aborted) throw new ReplayError("REPLAY_ABORTED", "replay aborted; rerun to resume");
    if (Date.now() > deadline) {
      throw new ReplayError(
        "REPLAY_TIMEOUT",
        `the live consumers did not reach the replay's end offsets on ${lagging.length} partition(s) ` +
          `(e.g. ${spanKey(lagging[0]?.topic ?? "", lagging[0]?.partition ?? 0)}); are they running? Rerun to resume`,
      );
    }
    await sleep(POLL_MS);
  }
}

/**
 * Exchanges every data table of the live and the shadow database in one statement, telling the
 * live pipeline's listeners (the API's report cache and live stream) that everything changed,
 * before and after, as a reset does.
 */
async function swap(
  client: ClickHouseClient,
  options: ReplayOptions,
  shadow: string,
  scope: ReplayScope | null,
): Promise<string[]> {
  const liveDb = options.clickhouse.database;
  const all = swappedTables(await tablesOf(client, liveDb));
  const shadowTables = swappedTables(await tablesOf(client, shadow));
  // A partial replay exchanges its rebuilt tables only; source_resets stays (it holds every source
  // table's resets, and the live group applied the same ones from the same records).
  const tables = scope ? all.filter((t) => scope.tables.includes(t)) : all;
  if (all.join() !== shadowTables.join() || (scope && tables.length !== scope.tables.length)) {
    throw new ReplayError(
      "REPLAY_TABLES_MISMATCH",
      `${liveDb} and ${shadow} hold different tables (${all.join(", ")} vs ${shadowTables.join(", ")}): ` +
        `run \`npm run migrate\` on ${liveDb}, then rerun`,
    );
  }
  const touched = { users: [], prosthetics: [], chips: [], tables: [], reset: true };
  const event = { topic: "", partition: 0, firstOffset: 0n, lastOffset: 0n, touched };
  options.live?.applied.emitApplying(event);
  await client.command({ query: exchangeStatement(liveDb, shadow, tables) });
  options.live?.applied.emit({ ...event, records: 0, commitTs: null, appliedAt: Date.now() });
  return tables;
}
