import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadApiConfig } from "../api/config.js";
import { startApi, type RunningApi } from "../api/start.js";
import { createClickHouseClient } from "../clickhouse/client.js";
import { HEARTBEAT_TABLE } from "../connectors/sources.js";
import { ReplayError } from "../consumers/src/replay/errors.js";
import { appliedPositions } from "../consumers/src/replay/positions.js";
import { runReplay, type ReplayOptions, type ReplayResult } from "../consumers/src/replay/replay.js";
import { databaseExists, shadowDatabase } from "../consumers/src/replay/run-state.js";
import { withAdmin } from "./harness/cdc.js";
import { TestIssuer } from "./harness/jwt-issuer.js";
import {
  endOffsets,
  openPipelineRun,
  pipelineLog,
  reconcileRun,
  sourceQuery,
  waitForDrain,
  type PipelineRun,
  type TestPipeline,
} from "./harness/pipeline.js";

/**
 * Replay against the real stack: a drained pipeline (scale-1 CRM, 2 % telemetry), a mart emptied
 * behind its back, then a replay into the shadow database — interrupted once and resumed, with a
 * payment committed between the two attempts (after the replay's end offsets: the catch-up to the
 * live position must bring it) — while the API on the same data dir answers reports the whole time.
 */

let pr: PipelineRun;
let live: TestPipeline;
let issuer: TestIssuer;
let api: RunningApi;
const month = "2026-10";

beforeAll(async () => {
  pr = await openPipelineRun({ telemetryDensity: 0.02 });
  live = await pr.startPipeline("live");
  await waitForDrain(pr.run, pr.config.group, { pipelines: [live] });
  issuer = await new TestIssuer().start();
  api = await startApi({
    config: loadApiConfig({
      CLICKHOUSE_PATH: pr.dataDir,
      CLICKHOUSE_DATABASE: pr.database,
      BIONICPRO_API_PORT: "0",
      BIONICPRO_API_ISSUER: issuer.issuer,
      BIONICPRO_API_LOG_LEVEL: "warn",
      BIONICPRO_API_RATE_LIMIT_MAX: "1000000",
    }),
    clickhouse: () => createClickHouseClient(pr.config.clickhouse),
    appliedChunks: live.pipeline.applied,
  });
}, 900_000);

afterAll(async () => {
  await api?.close().catch(() => undefined);
  await issuer?.stop().catch(() => undefined);
  await pr?.close();
});

/** GET the month report of CRM user 1 as support staff. */
async function userReport(): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${api.url}/reports/user/1?month=${month}`, {
    headers: { authorization: `Bearer ${issuer.staff("support")}` },
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** Requests the report in a loop until stopped: statuses and latencies of every request. */
function reportTraffic() {
  const statuses: number[] = [];
  const latencies: number[] = [];
  let going = true;
  const loop = (async () => {
    while (going) {
      const t0 = performance.now();
      const { status } = await userReport().catch(() => ({ status: 0 }));
      latencies.push(performance.now() - t0);
      statuses.push(status);
    }
  })();
  return {
    statuses,
    latencies,
    stop: async () => {
      going = false;
      await loop;
    },
  };
}

/** Every table of a database by name, with its uuid (an exchanged table takes the other's). */
async function tableUuids(db: string): Promise<Map<string, string>> {
  const result = await pr.clickhouse.query({
    query: `SELECT name, toString(uuid) AS uuid FROM system.tables WHERE database = {db:String} ORDER BY name`,
    query_params: { db },
    format: "JSONEachRow",
  });
  return new Map((await result.json<{ name: string; uuid: string }>()).map((r) => [r.name, r.uuid]));
}

let nextPayment = 950_000_000;
async function insertPayment(amount: string): Promise<void> {
  const [sub] = await sourceQuery<{ user_id: number; subscription_id: number }>(
    pr.run,
    "crm",
    "SELECT user_id, subscription_id FROM crm_subscriptions WHERE user_id = 1 ORDER BY subscription_id LIMIT 1",
  );
  await sourceQuery(
    pr.run,
    "crm",
    `INSERT INTO crm_payments (payment_id, user_id, subscription_id, payment_date, amount, payment_method, status, description, created_at)
     VALUES ($1, $2, $3, '2026-10-15T12:00:00Z', $4, 'card', 'success', 'replay test', now())`,
    [(nextPayment += 1), sub?.user_id, sub?.subscription_id, amount],
  );
}

describe("replay", () => {
  it("rebuilds an emptied mart in a shadow, resumes after an interruption, swaps while the API answers", async () => {
    const db = pr.database;
    const before = await userReport();
    expect(before.status).toBe(200);

    await pr.clickhouse.command({ query: `TRUNCATE TABLE ${db}.user_payment_monthly` });
    const damaged = await reconcileRun(pr.run, pr.clickhouse, db);
    expect(damaged.marts.filter((m) => m.differences.length > 0).map((m) => m.mart)).toEqual([
      "report_user_monthly_metrics",
    ]);

    const log = pipelineLog("replay");
    const options = (more: Partial<ReplayOptions>): ReplayOptions => ({
      clickhouse: pr.config.clickhouse,
      consumer: pr.config,
      oracle: { pg: pr.run.dbs.pg, crmDb: pr.run.dbs.crmDb, telemetryDb: pr.run.dbs.telemetryDb },
      live: live.pipeline,
      log: log.log,
      ...more,
    });
    const traffic = reportTraffic();

    // First attempt: small chunks, aborted once part of the history is in the shadow.
    const abort = new AbortController();
    let doneAtAbort = 0;
    const interrupted = await runReplay(
      options({
        consumer: { ...pr.config, chunkMaxRecords: 5_000 },
        signal: abort.signal,
        onProgress: (p) => {
          if (p.phase === "replay" && p.done > 0 && !abort.signal.aborted) {
            doneAtAbort = p.done;
            abort.abort();
          }
        },
      }),
    ).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(interrupted).toBeInstanceOf(ReplayError);
    expect((interrupted as ReplayError).code).toBe("REPLAY_ABORTED");
    expect(doneAtAbort).toBeGreaterThan(0);
    expect(await databaseExists(pr.clickhouse, shadowDatabase(db))).toBe(true);

    // A change after the run's end offsets: only the catch-up to the live position can bring it.
    await insertPayment("123.45");
    await waitForDrain(pr.run, pr.config.group, { pipelines: [live] });

    const result: ReplayResult = await runReplay(options({}));
    const requests = await traffic.stop().then(() => traffic.statuses);

    expect(result.resumed).toBe(true);
    expect(result.total).toBeGreaterThan(doneAtAbort);
    // The resumed attempt replayed what the first one had not (and the catch-up), not everything.
    expect(result.records).toBeLessThan(result.total);
    expect(result.reconcile).toMatchObject({ ok: true, differenceCount: 0 });
    expect(result.swapped).toContain("user_payment_monthly");
    expect(result.swapped).not.toContain("partition_progress");
    expect(await databaseExists(pr.clickhouse, shadowDatabase(db))).toBe(false);

    const after = await reconcileRun(pr.run, pr.clickhouse, db);
    expect(after.differenceCount).toBe(0);

    expect(requests.length).toBeGreaterThan(10);
    expect(requests.filter((s) => s !== 200)).toEqual([]);

    // The live group goes on from its own position over the swapped tables: exact.
    await insertPayment("10.00");
    await waitForDrain(pr.run, pr.config.group, { pipelines: [live] });
    expect((await reconcileRun(pr.run, pr.clickhouse, db)).differenceCount).toBe(0);
    const { groups } = await withAdmin(pr.run, (admin) => admin.listGroups());
    expect(groups.map((g) => g.groupId).filter((g) => g.startsWith(`${pr.config.group}-replay-`))).toEqual(
      [],
    );

    const sorted = [...traffic.latencies].sort((a, b) => a - b);
    const p99 = sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] ?? 0;
    console.log(
      `replay: ${result.records} record(s) in ${result.replayMs} ms (${result.changesPerSecond}/s) of ${result.total} offsets; ` +
        `reconcile ${result.reconcileMs} ms; live writes held ${result.heldMs} ms; ` +
        `API ${requests.length} request(s), all 200, p99 ${p99.toFixed(0)} ms`,
    );
  }, 600_000);

  it("--tables crm_payments rebuilds, reconciles and swaps the payment chain only", async () => {
    const db = pr.database;
    await waitForDrain(pr.run, pr.config.group, { pipelines: [live] });
    await pr.clickhouse.command({
      query: `ALTER TABLE ${db}.user_payment_monthly DELETE WHERE user_id % 2 = 0`,
      clickhouse_settings: { mutations_sync: "2" },
    });
    const damaged = await reconcileRun(pr.run, pr.clickhouse, db);
    expect(damaged.marts.filter((m) => m.differences.length > 0).map((m) => m.mart)).toEqual([
      "report_user_monthly_metrics",
    ]);
    const uuids = await tableUuids(db);
    // The live group's applied positions on the data topics (heartbeats go on being applied).
    const dataPositions = async () =>
      [...(await appliedPositions(pr.clickhouse, db, pr.config.group, false))].filter(
        ([key]) => !key.includes(`.${HEARTBEAT_TABLE}:`),
      );
    const liveAt = await dataPositions();
    const paymentsTopic = pr.run.topic("crm", "crm_payments");
    const paymentOffsets = [...(await endOffsets(pr.run, [paymentsTopic])).values()].reduce(
      (a, b) => a + b,
      0n,
    );

    const log = pipelineLog("replay-tables");
    const result = await runReplay({
      clickhouse: pr.config.clickhouse,
      consumer: pr.config,
      oracle: { pg: pr.run.dbs.pg, crmDb: pr.run.dbs.crmDb, telemetryDb: pr.run.dbs.telemetryDb },
      live: live.pipeline,
      log: log.log,
      tables: ["crm_payments"],
    });

    const chain = ["payment_changes", "user_payment_daily", "user_payment_monthly"];
    expect(result.scope).toEqual({
      requested: ["crm_payments"],
      sources: ["crm_payments"],
      tables: chain,
      marts: ["report_user_monthly_metrics"],
      inputs: ["dim_users", "user_subscription_monthly_deltas"],
    });
    // Exactly the payments topic was replayed (from its first offset: nothing was deleted by retention).
    expect(BigInt(result.total)).toBe(paymentOffsets);
    expect(result.resumed).toBe(false);
    expect(result.reconcile).toEqual({
      ok: true,
      differenceCount: 0,
      marts: [{ mart: "report_user_monthly_metrics", differences: 0 }],
    });
    expect(result.swapped).toEqual(chain);
    expect(await databaseExists(pr.clickhouse, shadowDatabase(db))).toBe(false);

    // The chain's tables are the shadow's now; every other table is untouched (same uuid).
    const after = await tableUuids(db);
    expect([...after.keys()]).toEqual([...uuids.keys()]);
    expect([...after].filter(([name, uuid]) => uuids.get(name) !== uuid).map(([name]) => name)).toEqual(
      chain,
    );
    // The live group's bookkeeping did not move: the swap put the chain at exactly its position.
    expect(await dataPositions()).toEqual(liveAt);
    expect((await reconcileRun(pr.run, pr.clickhouse, db)).differenceCount).toBe(0);

    // And the live group goes on over the swapped chain.
    await insertPayment("7.70");
    await waitForDrain(pr.run, pr.config.group, { pipelines: [live] });
    expect((await reconcileRun(pr.run, pr.clickhouse, db)).differenceCount).toBe(0);
    console.log(
      `replay --tables crm_payments: ${result.records} record(s) in ${result.replayMs} ms (${result.changesPerSecond}/s) ` +
        `of ${result.total} offsets; reconcile ${result.reconcileMs} ms; live writes held ${result.heldMs} ms`,
    );
  }, 600_000);
});
