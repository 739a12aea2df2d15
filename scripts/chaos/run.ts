import { execFileSync } from "node:child_process";
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { loadConsumerConfig, type ConsumerConfig } from "../../consumers/src/config.js";
import { formatReconcileResult } from "../../consumers/src/reconcile/index.js";
import { startPipeline, type RunningPipeline } from "../../consumers/src/runtime/run.js";
import { closeCdcRun, openCdcRun, startConnectors, type CdcRun } from "../../test/harness/cdc.js";
import { reconcileRun, waitForDrain } from "../../test/harness/pipeline.js";
import { repoRoot } from "../config.js";
import { generate } from "../generate/index.js";
import { loadStackConfig } from "../stack/config.js";
import { stackUp } from "../stack/stack.js";
import { QUICK_SCENARIOS, SCENARIOS, type ChaosContext, type Scenario } from "./scenarios.js";
import { LiveStream } from "./stream.js";

/**
 * `npm run chaos`: scripted faults during a live `simulate` stream (docs/chaos.md). One isolated CDC
 * pipeline (own databases, topics, slots, ClickHouse directory) on the native stack; per scenario:
 * the stream runs, the fault is injected and ends, the stream goes on a little, stops, the consumer
 * catches up, and reconcile compares every mart with the oracle. A summary table goes to
 * bench/results/chaos-<date>.md (and .json).
 */
export interface ChaosOptions {
  scenarios?: readonly string[];
  /** The CI variant: QUICK_SCENARIOS with shorter faults. */
  quick?: boolean;
  /** Changes per second of the live stream. @default 500 */
  rate?: number;
  /** Write the summary under bench/results. @default true */
  report?: boolean;
  log?: (line: string) => void;
}

export interface ScenarioResult {
  scenario: string;
  fault: string;
  /** From injection until the fault was over. */
  faultMs: number;
  /** From the end of the fault until the consumer had applied everything the sources had committed by then. */
  recoveryMs: number;
  differences: number;
  deadLetters: number;
  expectedDeadLetters: number;
  reemitted: number;
  resets: number;
  /** Restarts of a FAILED Debezium connector or task asked by the run's supervisor during the scenario. */
  connectorRestarts: number;
  ok: boolean;
  firstDifferences: string;
}

export interface ChaosSummary {
  startedAt: string;
  quick: boolean;
  rate: number;
  results: ScenarioResult[];
  changes: number;
  ok: boolean;
  reportFile: string | undefined;
}

const AFTER_FAULT_MS = 5_000;
const WARMUP_MS = 3_000;
const DATABASE = "reports";

function pick(options: ChaosOptions): Scenario[] {
  const names = options.scenarios?.length ? options.scenarios : options.quick ? QUICK_SCENARIOS : undefined;
  if (!names) return [...SCENARIOS];
  return names.map((name) => {
    const scenario = SCENARIOS.find((s) => s.name === name);
    if (!scenario)
      throw new Error(`unknown chaos scenario "${name}"; one of ${SCENARIOS.map((s) => s.name).join(", ")}`);
    return scenario;
  });
}

export async function runChaos(options: ChaosOptions = {}): Promise<ChaosSummary> {
  const log = options.log ?? ((line: string) => console.log(`[chaos] ${line}`));
  const quick = options.quick ?? false;
  const rate = options.rate ?? 500;
  const scenarios = pick(options);
  const startedAt = new Date().toISOString();
  await stackUp(loadStackConfig(), { sourceConnectors: false, log: (line) => log(`stack: ${line}`) });

  const run: CdcRun = await openCdcRun();
  const workDir = path.join(repoRoot, ".state", "chaos", run.runId);
  mkdirSync(workDir, { recursive: true });
  const group = `chaos-${run.runId}`;
  const consumerEnv = {
    KAFKA_BROKERS: run.config.kafkaBrokers.join(","),
    SCHEMA_REGISTRY_URL: run.config.registryUrl,
    TOPIC_PREFIX: run.topicPrefix,
    CONSUMER_GROUP: group,
    CLICKHOUSE_URL: "",
    CLICKHOUSE_PATH: path.join(workDir, "clickhouse"),
    CLICKHOUSE_DATABASE: DATABASE,
  };
  const config: ConsumerConfig = loadConsumerConfig(consumerEnv);
  const consumerLog = (line: string) => appendFileSync(path.join(workDir, "consumer.log"), `${line}\n`);
  let consumer: RunningPipeline | undefined;
  const stream = new LiveStream(run.dbs, rate, 7_000, (line) => log(`stream: ${line}`));
  const results: ScenarioResult[] = [];
  let completed = false;
  // startConnectors supervises them as `npm start` does: a task that fails (the registry down, say) is restarted.
  const restartsSoFar = () => [...(run.supervisor?.restarts.values() ?? [])].reduce((a, b) => a + b, 0);
  try {
    log(`run ${run.runId}: databases ${run.dbs.crmDb}, ${run.dbs.telemetryDb}; work dir ${workDir}`);
    await generate({ ...run.dbs, scale: 1, seed: 77, telemetryDensity: 0.05, progress: false });
    await startConnectors(run);
    consumer = await startPipeline(config, consumerLog);
    const ctx: ChaosContext = {
      run,
      group,
      database: DATABASE,
      consumer: () => consumer as RunningPipeline,
      withoutConsumer: async (meanwhile) => {
        await consumer?.close();
        consumer = undefined;
        try {
          await meanwhile();
        } finally {
          consumer = await startPipeline(config, consumerLog);
        }
      },
      consumerEnv,
      consumerLogFile: path.join(workDir, "consumer-process.log"),
      quick,
      log,
    };
    await waitForDrain(run, group, { timeoutMs: 300_000 });
    log(`seed data applied; ${scenarios.length} scenario(s), stream at ${rate} changes/s`);
    for (const scenario of scenarios) {
      const before = { ...(consumer as RunningPipeline).pipeline.stats };
      const restartsBefore = restartsSoFar();
      const totals = () => consumer?.pipeline.stats ?? before;
      const base = { dead: 0, reemitted: 0, resets: 0 };
      const carried = (key: "deadLetters" | "reemitted" | "resets") =>
        // A consumer restarted by the scenario counts from zero again.
        totals()[key] >= before[key] ? totals()[key] - before[key] : totals()[key];
      log(`${scenario.name}: ${scenario.fault(quick)}`);
      stream.start();
      await sleep(WARMUP_MS);
      const injected = Date.now();
      await scenario.inject(ctx);
      const over = Date.now();
      // Recovered: everything the sources had committed when the fault ended is applied (the stream goes on).
      await waitForDrain(run, group, { timeoutMs: 600_000 });
      const recovered = Date.now();
      await sleep(AFTER_FAULT_MS);
      await stream.halt();
      await waitForDrain(run, group, { timeoutMs: 600_000 });
      const result = await reconcileRun(run, (consumer as RunningPipeline).clickhouse, DATABASE);
      base.dead = carried("deadLetters");
      base.reemitted = carried("reemitted");
      base.resets = carried("resets");
      const row: ScenarioResult = {
        scenario: scenario.name,
        fault: scenario.fault(quick),
        faultMs: over - injected,
        recoveryMs: recovered - over,
        differences: result.differenceCount,
        deadLetters: base.dead,
        expectedDeadLetters: scenario.expectedDeadLetters,
        reemitted: base.reemitted,
        resets: base.resets,
        connectorRestarts: restartsSoFar() - restartsBefore,
        ok: result.differenceCount === 0 && base.dead === scenario.expectedDeadLetters,
        firstDifferences: result.ok ? "" : formatReconcileResult(result, 5),
      };
      results.push(row);
      log(
        `${scenario.name}: fault ${(row.faultMs / 1000).toFixed(1)} s, recovered ${(row.recoveryMs / 1000).toFixed(1)} s ` +
          `after it, ${row.differences} differences, ${row.deadLetters} dead letters, ${row.reemitted} re-emitted ` +
          `dropped, ${row.resets} resets, ${row.connectorRestarts} connector restarts${row.ok ? "" : `\n${row.firstDifferences}`}`,
      );
    }
    completed = true;
  } finally {
    await stream.halt().catch(() => undefined);
    await consumer?.close().catch(() => undefined);
    await closeCdcRun(run).catch((error: unknown) => log(`cleanup: ${(error as Error).message}`));
    if (completed && results.every((r) => r.ok)) rmSync(workDir, { recursive: true, force: true });
    else log(`kept ${workDir} (consumer logs, ClickHouse data) for a look`);
  }
  const summary: ChaosSummary = {
    startedAt,
    quick,
    rate,
    results,
    changes: stream.changes,
    ok: results.length === scenarios.length && results.every((r) => r.ok),
    reportFile: undefined,
  };
  if (options.report ?? true) summary.reportFile = writeReport(summary);
  return summary;
}

const seconds = (ms: number) => (ms / 1000).toFixed(1);

export function formatChaosTable(results: readonly ScenarioResult[]): string[] {
  return [
    "| scenario | fault | fault (s) | recovery (s) | differences | dead letters (expected) | re-emitted dropped | resets | connector restarts |",
    "|---|---|---|---|---|---|---|---|---|",
    ...results.map(
      (r) =>
        `| ${r.scenario} | ${r.fault} | ${seconds(r.faultMs)} | ${seconds(r.recoveryMs)} | ${r.differences} | ` +
        `${r.deadLetters} (${r.expectedDeadLetters}) | ${r.reemitted} | ${r.resets} | ${r.connectorRestarts} |`,
    ),
  ];
}

function gitCommit(): string {
  try {
    return execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: repoRoot, encoding: "utf8" }).trim();
  } catch {
    return "unknown";
  }
}

function writeReport(summary: ChaosSummary): string {
  const dir = path.join(repoRoot, "bench", "results");
  mkdirSync(dir, { recursive: true });
  const day = summary.startedAt.slice(0, 10);
  const file = path.join(dir, `chaos-${day}.md`);
  const header = existsSync(file) ? [] : [`# Chaos runs ${day}`, ""];
  const lines = [
    ...header,
    `## ${summary.startedAt} — ${summary.quick ? "quick (CI) variant" : "all scenarios"}, commit ${gitCommit()}`,
    "",
    `Machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? "cpu"}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ` +
      `Node ${process.version}. Command: \`npm run chaos${summary.quick ? " -- --quick" : ""}\`. ` +
      `Live stream: simulate at ${summary.rate} changes/s (${summary.changes} changes in all); seed data scale 1, ` +
      `telemetry density 0.05. Recovery: from the end of the fault until the consumer had applied everything ` +
      `the sources had committed by then, while the stream went on; reconcile runs once the stream has stopped ` +
      `and the consumer caught up.`,
    "",
    ...formatChaosTable(summary.results),
    "",
    summary.ok ? "Every scenario: zero differences." : "**Differences found** (see the rows above).",
    "",
  ];
  appendFileSync(file, `${lines.join("\n")}\n`);
  // The day's runs as data too: one JSON array per day.
  const json = file.replace(/\.md$/, ".json");
  const runs = existsSync(json) ? (JSON.parse(readFileSync(json, "utf8")) as ChaosSummary[]) : [];
  writeFileSync(json, `${JSON.stringify([...runs, summary], null, 2)}\n`);
  return file;
}
