import type pg from "pg";
import { buildBilling } from "./billing.js";
import type { SourceDatabases } from "./checksum.js";
import { DEFAULT_DAYS, historyWindow, isoDate } from "./calendar.js";
import { copyInto } from "./copy-load.js";
import { connect } from "./db.js";
import { calibrateDensity } from "./density.js";
import { checkGenerateParams } from "./options.js";
import { buildPopulation } from "./population.js";
import { progressBoard, type ProgressBoard } from "./progress.js";
import { CRM_TABLES, TELEMETRY_TABLES, type SourceTable } from "./source-tables.js";
import { crmLoads, telemetryLoads, type TableLoad } from "./table-loads.js";
import { buildTickets } from "./tickets.js";
import { targetVolumes } from "./volumes.js";

export interface GenerateOptions extends SourceDatabases {
  /** Multiplies users, prostheses, payments, tickets and telemetry (833 -> ~10k users). */
  scale: number;
  seed: number;
  /** History length ending 2026-10-31. @default 913 (2.5 years) */
  days?: number;
  /** Share of device-days that get telemetry, to thin huge runs. @default 1 */
  telemetryDensity?: number;
  progress?: boolean;
  log?: (line: string) => void;
}

export interface GenerateSummary {
  rows: Record<SourceTable, number>;
  elapsedMs: number;
}

async function load<T extends string>(
  client: pg.ClientBase,
  spec: TableLoad<T>,
  board: ProgressBoard,
  log: (line: string) => void,
): Promise<number> {
  const started = performance.now();
  const bar = board.table(spec.table, spec.expectedRows);
  const rows = await copyInto(client, spec.table, spec.columns, spec.chunks(), bar.update);
  bar.done(rows);
  await client.query(`ANALYZE ${spec.table}`);
  log(`${spec.table}: ${rows} rows in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return rows;
}

async function rollbackQuietly(client: pg.Client | undefined): Promise<void> {
  // The original error matters; a failing ROLLBACK on a broken connection does not.
  await client?.query("ROLLBACK").catch(() => undefined);
}

/**
 * Replaces the generated tables of both source databases with a deterministic data set: same
 * options, byte-identical rows. Each database is loaded in one transaction (TRUNCATE + COPY),
 * and both commit only after every table loaded, so a failed run leaves the previous data.
 */
export async function generate(opts: GenerateOptions): Promise<GenerateSummary> {
  const started = performance.now();
  const params = {
    scale: opts.scale,
    seed: opts.seed,
    days: opts.days ?? DEFAULT_DAYS,
    telemetryDensity: opts.telemetryDensity ?? 1,
  };
  checkGenerateParams(params);
  const board = progressBoard(opts.progress ?? false, opts.log ?? (() => undefined));
  const log = board.log;
  const { seed, telemetryDensity } = params;
  const window = historyWindow(params.days);
  const volumes = targetVolumes(params.scale, params.days);
  const population = buildPopulation(seed, window, volumes);
  const billing = buildBilling(seed, window, population, volumes.payments);
  const tickets = buildTickets(seed, window, population, volumes.tickets);
  const density = calibrateDensity(volumes, population.devices);
  log(
    `generate: seed ${seed}, scale ${params.scale}, ${params.days} days to ${isoDate(window.endMs)}, ` +
      `${population.users.length} users, ${population.devices.length} prostheses, telemetry density ${telemetryDensity}`,
  );
  log(
    `per worn device-day: ${density.sessionsMean.toFixed(1)} wake/sleep cycles, ` +
      `${density.rawPerWornDay.toFixed(1)} movement samples; ${density.metricsPerDay.toFixed(2)} battery samples per day`,
  );

  const rows = {} as Record<SourceTable, number>;
  let crm: pg.Client | undefined;
  let telemetry: pg.Client | undefined;
  try {
    crm = await connect(opts.pg, opts.crmDb, "bionicpro-generate");
    telemetry = await connect(opts.pg, opts.telemetryDb, "bionicpro-generate");
    await crm.query("BEGIN");
    await telemetry.query("BEGIN");
    // Listing every referencing table in one TRUNCATE satisfies the foreign keys without CASCADE,
    // which would silently empty tables this generator does not own.
    await crm.query(`TRUNCATE ${CRM_TABLES.join(", ")}`);
    await telemetry.query(`TRUNCATE ${TELEMETRY_TABLES.join(", ")}`);
    for (const spec of crmLoads(population, billing, tickets))
      rows[spec.table] = await load(crm, spec, board, log);
    const inputs = { seed, window, population, density, telemetryDensity, volumes };
    for (const spec of telemetryLoads(inputs)) rows[spec.table] = await load(telemetry, spec, board, log);
    await telemetry.query("COMMIT");
    await crm.query("COMMIT");
  } catch (error) {
    await rollbackQuietly(telemetry);
    await rollbackQuietly(crm);
    throw error;
  } finally {
    board.stop();
    await telemetry?.end();
    await crm?.end();
  }
  return { rows, elapsedMs: Math.round(performance.now() - started) };
}
