import cliProgress from "cli-progress";
import type { Command } from "commander";
import type { ClickHouseOptions } from "../../../clickhouse/client.js";
import type { ConsumerConfig } from "../config.js";
import type { PgConnection } from "../reconcile/index.js";
import { ReplayError } from "./errors.js";
import { parseFrom } from "./positions.js";
import { runReplay, type ReplayProgress } from "./replay.js";
import { parseTables } from "./scope.js";

export interface ReplayCommandConfig {
  clickhouse: ClickHouseOptions;
  consumer: ConsumerConfig;
  pg: PgConnection;
  crmDb: string;
  telemetryDb: string;
}

type Lazy<T> = () => T | Promise<T>;

/**
 * Progress on stderr: one cli-progress bar (on a terminal: offsets replayed, rate and ETA, the phase),
 * or with `--json` one JSON line per report, `{"progress":{"phase","done","total"}}`, for scripts.
 */
function progressBar(enabled: boolean, json: boolean) {
  if (json) {
    return {
      update: (p: ReplayProgress) => void process.stderr.write(`${JSON.stringify({ progress: p })}\n`),
      stop: () => undefined,
    };
  }
  if (!enabled || !process.stderr.isTTY)
    return { update: (_p: ReplayProgress) => undefined, stop: () => undefined };
  const bar = new cliProgress.SingleBar(
    {
      format: "{phase} [{bar}] {percentage}% | {value}/{total} offsets | {rate}/s | ETA {eta_formatted}",
      hideCursor: true,
      stream: process.stderr,
      etaBuffer: 20,
    },
    cliProgress.Presets.shades_classic,
  );
  let started: { at: number; done: number } | undefined;
  return {
    update(p: ReplayProgress) {
      if (!started) {
        started = { at: performance.now(), done: p.done };
        bar.start(Math.max(1, p.total), p.done, { phase: p.phase.padEnd(9), rate: 0 });
      }
      const seconds = (performance.now() - started.at) / 1000;
      const rate = seconds > 0 ? Math.round((p.done - started.done) / seconds) : 0;
      bar.setTotal(Math.max(1, p.total));
      bar.update(p.done, { phase: p.phase.padEnd(9), rate });
    },
    stop: () => bar.stop(),
  };
}

/**
 * `replay [--from earliest|<ISO time>] [--tables t1,t2] [--force] [--restart] [--json]`: rebuilds the
 * marts (or what the named source tables feed) from Kafka into `<database>_shadow`, reconciles it,
 * swaps it in (docs/replay.md). Exit 0 swapped, 1 differences or failure (nothing swapped; a rerun
 * resumes), 2 usage. In the embedded default it opens the data
 * directory itself, so the consumers must not run on it (inside `npm start`, send SIGUSR2 instead).
 */
export function registerReplayCommand(program: Command, config: Lazy<ReplayCommandConfig>): Command {
  return program
    .command("replay")
    .description(
      "rebuild the marts from Kafka into a shadow database, reconcile it, then swap it in atomically",
    )
    .option("--from <position>", "earliest, or an ISO time (the first record at or after it)", "earliest")
    .option(
      "--tables <tables>",
      "only these source tables (comma-separated, e.g. crm_payments) and what they feed: rebuild, reconcile and swap that",
    )
    .option("--force", "swap even when the shadow differs from the oracle")
    .option("--restart", "drop the shadow of an interrupted run instead of resuming it")
    .option("--json", "print a JSON summary on stdout, progress as JSON lines on stderr (no bar)")
    .action(
      async (opts: { from: string; tables?: string; force?: boolean; restart?: boolean; json?: boolean }) => {
        const bar = progressBar(!opts.json, opts.json === true);
        const abort = new AbortController();
        const onSignal = () => abort.abort();
        process.once("SIGINT", onSignal);
        process.once("SIGTERM", onSignal);
        try {
          // Usage errors before any data directory is opened.
          parseFrom(opts.from);
          const tables = opts.tables === undefined ? undefined : parseTables(opts.tables);
          const cfg = await config();
          const result = await runReplay({
            clickhouse: cfg.clickhouse,
            consumer: { ...cfg.consumer, clickhouse: cfg.clickhouse },
            oracle: { pg: cfg.pg, crmDb: cfg.crmDb, telemetryDb: cfg.telemetryDb },
            from: opts.from === "earliest" ? undefined : opts.from,
            tables,
            force: opts.force,
            restart: opts.restart,
            signal: abort.signal,
            log: (line) => process.stderr.write(`${line}\n`),
            onProgress: (p) => bar.update(p),
          });
          bar.stop();
          process.stdout.write(
            opts.json
              ? `${JSON.stringify({ ok: true, ...result }, null, 2)}\n`
              : `replay ${result.runId}${result.scope ? ` of ${result.scope.sources.join(",")}` : ""}: ` +
                  `${result.records} record(s) at ${result.changesPerSecond}/s, ` +
                  `reconciled (${result.reconcile.differenceCount} differences), ${result.swapped.length} table(s) swapped\n`,
          );
        } catch (error) {
          bar.stop();
          if (!(error instanceof ReplayError)) throw error;
          process.stdout.write(
            opts.json
              ? `${JSON.stringify({ ok: false, code: error.code, message: error.message }, null, 2)}\n`
              : "",
          );
          process.stderr.write(`replay [${error.code}]: ${error.message}\n`);
          process.exitCode = error.usage ? 2 : 1;
        } finally {
          process.off("SIGINT", onSignal);
          process.off("SIGTERM", onSignal);
        }
      },
    );
}
