import type pg from "pg";
import type { SourceDatabases } from "../generate/checksum.js";
import { connect } from "../generate/db.js";
import { checkSimulateParams } from "../generate/options.js";
import { rngFor } from "../generate/prng.js";
import { planChange } from "./change-mix.js";
import type { Database, Statement } from "./statement.js";
import { applyInTransaction, type Applied } from "./transaction.js";
import { emptyCounts, formatSummary, type ChangeCounts, type SimulateSummary } from "./summary.js";
import { TokenBucket } from "./token-bucket.js";
import { loadWorld, type World } from "./world.js";

export interface SimulateOptions extends SourceDatabases {
  /** Changes (affected rows) per second. */
  rate: number;
  durationS?: number;
  maxChanges?: number;
  seed: number;
  signal?: AbortSignal;
  log?: (line: string) => void;
  /**
   * CRM users the simulator leaves alone (their rows, prostheses and telemetry): a probe that
   * changes one of them knows the exact figure to expect (bench/dashboard.bench.ts).
   */
  spareUsers?: readonly number[];
}

/** About 20 small transactions per second per database, whatever the rate. */
const BATCHES_PER_S = 20;
const PROGRESS_EVERY_MS = 10_000;

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

function count(counts: ChangeCounts, applied: Applied[]): number {
  let total = 0;
  for (const { table, op, rows } of applied) {
    counts[table][op] += rows;
    total += rows;
  }
  return total;
}

type Clients = Record<Database, pg.Client>;

/** The paced loop itself: plans batches, applies them, counts what changed. */
async function stream(opts: SimulateOptions, world: World, clients: Clients): Promise<SimulateSummary> {
  const log = opts.log ?? (() => undefined);
  const rng = rngFor(opts.seed, "simulate");
  const counts = emptyCounts();
  const batchMax = Math.max(1, Math.ceil(opts.rate / BATCHES_PER_S));
  const budget = opts.maxChanges ?? Infinity;
  // Duration and achieved rate count from the first change, not from connecting and loading.
  const startedMs = performance.now();
  const until = opts.durationS === undefined ? Infinity : startedMs + opts.durationS * 1000;
  const bucket = new TokenBucket(opts.rate, batchMax, startedMs);
  let nextProgressMs = startedMs + PROGRESS_EVERY_MS;
  let total = 0;
  log(
    `simulate: ${opts.rate} changes/s on ${opts.crmDb} + ${opts.telemetryDb}` +
      `${opts.durationS === undefined ? "" : `, ${opts.durationS} s`}` +
      `${opts.maxChanges === undefined ? "" : `, at most ${opts.maxChanges} changes`}`,
  );
  while (!opts.signal?.aborted && total < budget) {
    const nowMs = performance.now();
    if (nowMs >= until) break;
    if (nowMs >= nextProgressMs) {
      log(`${((nowMs - startedMs) / 1000).toFixed(0)} s: ${total} changes`);
      nextProgressMs += PROGRESS_EVERY_MS;
    }
    const granted = bucket.take(nowMs, Math.min(batchMax, budget - total));
    if (granted === 0) {
      await sleep(Math.min(bucket.msUntilNext(nowMs), until - nowMs), opts.signal);
      continue;
    }
    const wallMs = Date.now();
    const batch: Statement[] = [];
    while (batch.length < granted) batch.push(...planChange(world, rng, wallMs));
    bucket.debit(batch.length - granted);
    // The two databases are independent: their transactions run side by side.
    const applied = await Promise.all(
      (["crm", "telemetry"] as const).map((db) =>
        applyInTransaction(
          clients[db],
          batch.filter((s) => s.db === db),
        ),
      ),
    );
    total += count(counts, applied.flat());
  }
  const elapsedMs = Math.round(performance.now() - startedMs);
  const summary: SimulateSummary = {
    changes: counts,
    total,
    elapsedMs,
    achievedRate: elapsedMs > 0 ? total / (elapsedMs / 1000) : 0,
  };
  for (const line of formatSummary(summary)) log(line);
  return summary;
}

/**
 * A live change stream on the source databases: `rate` changes per second, paced by a token
 * bucket, in small transactions, until the duration, the change budget or the abort signal
 * ends it. New rows continue after the current max ids and are stamped with the current time.
 * A change of two rows (a plan change ends one subscription and starts another) may overshoot
 * `maxChanges` by one.
 */
export async function simulate(opts: SimulateOptions): Promise<SimulateSummary> {
  checkSimulateParams(opts);
  const crm = await connect(opts.pg, opts.crmDb, "bionicpro-simulate");
  try {
    const telemetry = await connect(opts.pg, opts.telemetryDb, "bionicpro-simulate");
    try {
      return await stream(opts, await loadWorld(crm, telemetry, opts.spareUsers), { crm, telemetry });
    } finally {
      await telemetry.end();
    }
  } finally {
    await crm.end();
  }
}
