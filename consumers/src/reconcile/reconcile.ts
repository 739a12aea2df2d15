import type { ClickHouseClient } from "@clickhouse/client";
import pg from "pg";
import { assertMonth, type MonthRange } from "../../../clickhouse/marts/index.js";
import {
  oracleDataRange,
  oracleProsthesisDimension,
  type OracleDatabases,
} from "../../../clickhouse/oracle/index.js";
import { compareRows, type RowDifference } from "./compare.js";
import { martChecks, martNames, type MartName } from "./marts.js";

export interface PgConnection {
  host: string;
  port: number;
  user: string;
  password?: string;
}

export interface ReconcileOptions {
  ch: { client: ClickHouseClient; database: string };
  /** PostgreSQL server holding both source databases. */
  pg: PgConnection;
  crmDb: string;
  telemetryDb: string;
  /** First month (YYYY-MM). @default the first month with source data */
  from?: string;
  /** Last month (YYYY-MM). @default the later of the last month with source data and the current UTC month */
  to?: string;
  /** @default every mart */
  marts?: readonly MartName[];
  /** Clock for the default `to`. @default new Date() */
  now?: Date;
  /** Called before each mart is compared. */
  onMart?: (mart: MartName, index: number, total: number) => void;
}

export interface MartReconciliation {
  mart: MartName;
  oracleRows: number;
  martRows: number;
  differences: RowDifference[];
}

export interface ReconcileResult {
  range: MonthRange;
  marts: MartReconciliation[];
  differenceCount: number;
  ok: boolean;
}

const utcMonth = (date: Date) => date.toISOString().slice(0, 7);

async function resolveRange(oracle: OracleDatabases, options: ReconcileOptions): Promise<MonthRange> {
  const current = utcMonth(options.now ?? new Date());
  const data = options.from && options.to ? null : await oracleDataRange(oracle);
  const from = assertMonth(options.from ?? data?.first ?? current);
  const lastData = data?.last ?? current;
  const to = assertMonth(options.to ?? (lastData > current ? lastData : current));
  if (from > to) throw new RangeError(`--from ${from} is after --to ${to}`);
  return { from, to };
}

async function connect(connection: PgConnection, database: string): Promise<pg.Client> {
  // Spelled out: the password may be a non-enumerable property (scripts/config.ts keeps it out of logs).
  const { host, port, user, password } = connection;
  const client = new pg.Client({ host, port, user, password, database });
  await client.connect();
  return client;
}

/**
 * Compares every mart in ClickHouse with the same figures computed from the PostgreSQL sources
 * (clickhouse/oracle), cell by cell. The sources must be quiescent, or the marts caught up to
 * them, for zero differences.
 */
export async function reconcile(options: ReconcileOptions): Promise<ReconcileResult> {
  const crm = await connect(options.pg, options.crmDb);
  try {
    const telemetry = await connect(options.pg, options.telemetryDb);
    try {
      const oracle: OracleDatabases = { crm, telemetry };
      const range = await resolveRange(oracle, options);
      const sources = { ch: options.ch, oracle, dimension: await oracleProsthesisDimension(oracle) };
      const marts: MartReconciliation[] = [];
      const selected = options.marts ?? martNames;
      for (const [index, mart] of selected.entries()) {
        options.onMart?.(mart, index, selected.length);
        const check = martChecks[mart];
        const [expected, actual] = [await check.oracle(sources, range), await check.mart(sources, range)];
        marts.push({
          mart,
          oracleRows: expected.length,
          martRows: actual.length,
          differences: compareRows(check.spec, expected, actual),
        });
      }
      const differenceCount = marts.reduce((n, m) => n + m.differences.length, 0);
      return { range, marts, differenceCount, ok: differenceCount === 0 };
    } finally {
      await telemetry.end();
    }
  } finally {
    await crm.end();
  }
}
