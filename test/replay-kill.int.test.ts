import { Kafka, logLevel } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createClickHouseClient } from "../clickhouse/client.js";
import type { ReplayProgress } from "../consumers/src/replay/replay.js";
import { databaseExists, readRun, shadowDatabase } from "../consumers/src/replay/run-state.js";
import { runCli, spawnCli, type CliProcess } from "./harness/cli.js";
import { openPipelineRun, reconcileRun, waitForDrain, type PipelineRun } from "./harness/pipeline.js";

/**
 * `npm run replay` as an operator runs it (the CLI as a child process, the consumers stopped: in the
 * embedded default the CLI opens the data directory itself), SIGKILLed once its progress — read from
 * the shadow's state through `--json` — shows part of the history applied, then run again: it
 * resumes from where the killed one got (crash repair of an open intent included) and swaps a
 * shadow that reconciles with zero differences.
 */

let pr: PipelineRun;

beforeAll(async () => {
  pr = await openPipelineRun({ telemetryDensity: 0.02 });
  const live = await pr.startPipeline("live");
  await waitForDrain(pr.run, pr.config.group, { pipelines: [live] });
  // A damaged mart for the replay to repair.
  await pr.clickhouse.command({ query: `TRUNCATE TABLE ${pr.database}.user_payment_monthly` });
  // The CLI opens the directory itself: nothing in this process may hold it.
  await live.stop();
  await pr.clickhouse.close();
}, 900_000);

afterAll(async () => {
  await pr?.close();
});

function cliEnv(): Record<string, string> {
  const { pg } = pr.run.dbs;
  return {
    TOPIC_PREFIX: pr.run.topicPrefix,
    CONSUMER_GROUP: pr.config.group,
    CLICKHOUSE_PATH: pr.dataDir,
    CLICKHOUSE_DATABASE: pr.database,
    CLICKHOUSE_URL: "",
    KAFKA_BROKERS: pr.config.brokers.join(","),
    SCHEMA_REGISTRY_URL: pr.config.registryUrl,
    // Small chunks: many progress points, and a kill lands between or inside chunks.
    CONSUMER_CHUNK_MAX_RECORDS: "1000",
    PGHOST: pg.host,
    PGPORT: String(pg.port),
    PGUSER: pg.user,
    PGPASSWORD: pg.password ?? "",
    CRM_DB: pr.run.dbs.crmDb,
    TELEMETRY_DB: pr.run.dbs.telemetryDb,
  };
}

/** The `{"progress": ...}` lines of `replay --json` on stderr so far. */
function progressOf(proc: CliProcess): ReplayProgress[] {
  return proc
    .stderr()
    .split("\n")
    .filter((line) => line.startsWith('{"progress":'))
    .map((line) => (JSON.parse(line) as { progress: ReplayProgress }).progress);
}

/** Starts `replay --json` and SIGKILLs it once its progress shows part of the history applied. */
async function killMidway(): Promise<ReplayProgress> {
  const killed = spawnCli(["replay", "--json"], cliEnv());
  const replaying = (proc: CliProcess) =>
    progressOf(proc).filter((p) => p.phase === "replay" && p.done > 0 && p.done < p.total);
  await vi.waitFor(
    () => {
      if (killed.exit) throw new Error(`replay exited: ${killed.stderr().slice(-2000)}`);
      if (replaying(killed).length === 0) throw new Error("no partial progress yet");
    },
    { timeout: 300_000, interval: 100 },
  );
  expect(killed.signal("SIGKILL")).toBe(true);
  expect(await killed.exited).toEqual({ code: null, signal: "SIGKILL" });
  // The last progress it reported: read from the shadow's state before the kill.
  return replaying(killed).at(-1) as ReplayProgress;
}

interface ReplaySummary {
  ok: boolean;
  resumed: boolean;
  runId: string;
  records: number;
  total: number;
  replayMs: number;
  changesPerSecond: number;
  reconcile: { ok: boolean; differenceCount: number };
}

/** Runs the replay CLI with `args` to its end; it must exit 0. Its JSON summary and the process. */
async function replayToTheEnd(args: string[]): Promise<{ rerun: CliProcess; summary: ReplaySummary }> {
  const rerun = spawnCli(args, cliEnv());
  const exit = await rerun.exited;
  expect({ exit, stderrTail: exit.code === 0 ? "" : rerun.stderr().slice(-3000) }).toEqual({
    exit: { code: 0, signal: null },
    stderrTail: "",
  });
  return { rerun, summary: JSON.parse(rerun.stdout()) as ReplaySummary };
}

/** The consumer groups Kafka knows whose name starts with `prefix`. */
async function groupsStartingWith(prefix: string): Promise<string[]> {
  const admin = new Kafka({ brokers: pr.config.brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    return (await admin.listGroups()).groups.map((g) => g.groupId).filter((id) => id.startsWith(prefix));
  } finally {
    await admin.disconnect();
  }
}

describe("replay as a process", () => {
  it("refuses an unknown --tables name with exit code 2 before touching anything", async () => {
    const result = await runCli(["replay", "--tables", "crm_payment,crm_users"], cliEnv());
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'replay [REPLAY_UNKNOWN_TABLE]: --tables "crm_payment,crm_users": unknown source table(s) crm_payment; ' +
        "expected a comma-separated list of crm_users, crm_prosthetics, crm_subscriptions, crm_payments, " +
        "crm_support_tickets, telemetry_events, battery_metrics, raw_telemetry\n",
    );
  }, 120_000);

  it("resumes after a SIGKILL mid-way and swaps a shadow with zero differences", async () => {
    const atKill = await killMidway();
    expect(atKill.done).toBeLessThan(atKill.total);

    const { rerun, summary } = await replayToTheEnd(["replay", "--json"]);
    // The rerun's first progress is the shadow's state as the killed run left it: past the beginning.
    const [first] = progressOf(rerun);
    expect(first?.phase).toBe("replay");
    expect(first?.done).toBeGreaterThanOrEqual(atKill.done);
    expect(first?.total).toBe(atKill.total);
    expect(summary).toMatchObject({ ok: true, resumed: true, total: atKill.total });
    expect(summary.reconcile).toMatchObject({ ok: true, differenceCount: 0 });
    // It applied what was left, not everything.
    expect(summary.records).toBeLessThan(summary.total);

    const client = createClickHouseClient(pr.config.clickhouse);
    try {
      expect(await databaseExists(client, shadowDatabase(pr.database))).toBe(false);
      expect((await reconcileRun(pr.run, client, pr.database)).differenceCount).toBe(0);
    } finally {
      await client.close();
    }
    console.log(
      `replay killed at ${atKill.done}/${atKill.total} offsets; the rerun started at ${first?.done} and applied ` +
        `${summary.records} record(s) in ${summary.replayMs} ms (${summary.changesPerSecond}/s)`,
    );
  }, 900_000);

  it("--restart after a SIGKILL drops the killed run's shadow and consumer group and replays everything", async () => {
    const atKill = await killMidway();
    const shadow = shadowDatabase(pr.database);
    let killedGroup: string | undefined;
    const before = createClickHouseClient(pr.config.clickhouse);
    try {
      killedGroup = (await readRun(before, shadow))?.group;
    } finally {
      await before.close();
    }
    expect(killedGroup).toMatch(new RegExp(`^${pr.config.group}-replay-[0-9a-f]{8}$`));
    expect(await groupsStartingWith(killedGroup as string)).toEqual([killedGroup]);

    const { summary } = await replayToTheEnd(["replay", "--json", "--restart"]);
    // A new run from the beginning: every record applied again, none counted twice.
    expect(summary).toMatchObject({ ok: true, resumed: false, total: atKill.total, records: atKill.total });
    expect(`${pr.config.group}-replay-${summary.runId}`).not.toBe(killedGroup);
    expect(summary.reconcile).toMatchObject({ ok: true, differenceCount: 0 });
    // Neither the killed run's group nor the new one's is left in Kafka.
    expect(await groupsStartingWith(`${pr.config.group}-replay-`)).toEqual([]);
    const client = createClickHouseClient(pr.config.clickhouse);
    try {
      expect(await databaseExists(client, shadow)).toBe(false);
      expect((await reconcileRun(pr.run, client, pr.database)).differenceCount).toBe(0);
    } finally {
      await client.close();
    }
  }, 900_000);
});
