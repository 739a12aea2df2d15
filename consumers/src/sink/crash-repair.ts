import type { ClickHouseClient } from "@clickhouse/client";
import { dedupSettings, insertJsonRows, type ChRow } from "../../../clickhouse/insert.js";
import { assertDatabaseName } from "../../../clickhouse/sql.js";
import { ConsumerError } from "../errors.js";
import { targetTables, type Reset, type RowsByTable, type TargetTable } from "../mapping/types.js";
import { applyReset, resetTargets } from "./resets.js";

/**
 * Crash repair of one chunk (docs/consumers.md "Crash repair").
 *
 * ClickHouse's deduplication of non-replicated MergeTree inserts is not atomic with the part it
 * guards: a part is committed, then its block id is written to the table's deduplication log (older
 * releases: the other way round). An engine killed between the two leaves a part without its id (a
 * redo inserts it again: a duplicate) or an id without its part (a redo is dropped: a loss). Every
 * table of every materialized-view chain is exposed, and a chunk commits many parts (one per table
 * and month). So a chunk whose writer died mid-insert is not redone with its dedup tokens alone;
 * instead:
 * 1. dimension rows are inserted again without deduplication (ReplacingMergeTree keeps one version);
 * 2. each change table is reconciled with the chunk's rows: per distinct row, the net sign in the
 *    table must equal the net sign in the chunk; the difference is inserted as signed copies (a
 *    missing row is inserted, an extra copy is cancelled by its negation — the sign semantics every
 *    mart and query already apply);
 * 3. every table fed from that change table by materialized views is rebuilt for the months the
 *    chunk touched: the partitions are dropped and the first views' SELECTs re-run over the change
 *    table, cascading through the chain as live inserts do.
 * Every step recomputes from the current state, so a repair interrupted by another crash is simply
 * run again (the chunk's intent stays open until it is done).
 */

/** No deduplication in any statement of a repair: the embedded engine keeps settings per session. */
const NO_DEDUP = dedupSettings("");

/** Tables whose duplicates are harmless: ReplacingMergeTree by version keeps one row per key. */
const DIMENSION_TABLES: readonly TargetTable[] = targetTables.filter((t) => t.startsWith("dim_"));

/** Signed change tables: the roots of the materialized-view chains. */
export const CHANGE_TABLES: readonly TargetTable[] = targetTables.filter(
  (t) => !DIMENSION_TABLES.includes(t),
);

const MONTH_PARTITION = /^toYYYYMM\(\w+\)$/;

export interface TableInfo {
  name: string;
  engine: string;
  partitionKey: string;
  dependents: string[];
  asSelect: string;
  createQuery: string;
}

/** A change table and what materialized views build from it. */
export interface MartChain {
  root: string;
  rootPartitionKey: string;
  /** Views reading the change table itself: their SELECTs rebuild the chain. */
  firstViews: { view: string; target: string; asSelect: string }[];
  /** Every table the chain writes, at any depth. */
  downstream: string[];
  /** Root and every downstream table partitioned by toYYYYMM of (derived) UTC time: rebuild by month. */
  monthAligned: boolean;
}

export interface ChangeTableRepair {
  table: string;
  /** Signed copies inserted to make the table hold the chunk exactly once. */
  compensatingRows: number;
  /** Partition ids rebuilt downstream ("all" when the chain is not partitioned by month). */
  rebuilt: string[];
  downstream: string[];
}

export interface RepairSummary {
  dimensionRows: number;
  changeTables: ChangeTableRepair[];
  ms: number;
}

export async function tableInfos(client: ClickHouseClient, db: string): Promise<Map<string, TableInfo>> {
  const result = await client.query({
    query: `SELECT name, engine, partition_key, dependencies_table, as_select, create_table_query
            FROM system.tables WHERE database = {db:String}`,
    query_params: { db },
    format: "JSONEachRow",
  });
  const rows = await result.json<{
    name: string;
    engine: string;
    partition_key: string;
    dependencies_table: string[];
    as_select: string;
    create_table_query: string;
  }>();
  return new Map(
    rows.map((r) => [
      r.name,
      {
        name: r.name,
        engine: r.engine,
        partitionKey: r.partition_key,
        dependents: r.dependencies_table,
        asSelect: r.as_select,
        createQuery: r.create_table_query,
      },
    ]),
  );
}

export function viewTarget(db: string, view: TableInfo): string {
  const match = new RegExp(`\\bTO\\s+\`?${db}\`?\\.\`?(\\w+)\`?`).exec(view.createQuery);
  if (!match?.[1]) {
    throw new ConsumerError(
      "REPAIR_UNSUPPORTED",
      `materialized view ${db}.${view.name} has no TO table; crash repair rebuilds only views writing to a table`,
      false,
    );
  }
  return match[1];
}

/** The materialized-view chain of a change table, read from system.tables (the migrations are the truth). */
export async function martChain(
  client: ClickHouseClient,
  database: string,
  root: string,
): Promise<MartChain> {
  const db = assertDatabaseName(database);
  const tables = await tableInfos(client, db);
  const rootInfo = tables.get(root);
  if (!rootInfo) throw new ConsumerError("REPAIR_UNSUPPORTED", `table ${db}.${root} does not exist`, false);
  const firstViews: MartChain["firstViews"] = [];
  const downstream: string[] = [];
  const visit = (table: TableInfo, depth: number): void => {
    for (const name of table.dependents) {
      const view = tables.get(name);
      if (view?.engine !== "MaterializedView") continue;
      const target = viewTarget(db, view);
      if (depth === 0) firstViews.push({ view: view.name, target, asSelect: view.asSelect });
      if (downstream.includes(target)) continue;
      downstream.push(target);
      const next = tables.get(target);
      if (next) visit(next, depth + 1);
    }
  };
  visit(rootInfo, 0);
  const monthAligned =
    MONTH_PARTITION.test(rootInfo.partitionKey) &&
    downstream.every((t) => MONTH_PARTITION.test(tables.get(t)?.partitionKey ?? ""));
  return { root, rootPartitionKey: rootInfo.partitionKey, firstViews, downstream, monthAligned };
}

async function columnsOf(client: ClickHouseClient, db: string, table: string): Promise<string[]> {
  const result = await client.query({
    query: `SELECT name FROM system.columns WHERE database = {db:String} AND table = {table:String} ORDER BY position`,
    query_params: { db, table },
    format: "JSONEachRow",
  });
  return (await result.json<{ name: string }>()).map((r) => r.name);
}

const quoted = (name: string): string => `\`${name.replaceAll("`", "``")}\``;

/**
 * Makes `root` hold the chunk's rows exactly once in net sign (step 2); returns the month partitions
 * the rows live in and how many signed copies were inserted.
 */
async function reconcileChangeTable(
  client: ClickHouseClient,
  db: string,
  chain: MartChain,
  rows: readonly ChRow[],
  scratch: string,
): Promise<{ compensatingRows: number; partitions: string[] }> {
  const { root } = chain;
  await client.command({ query: `DROP TABLE IF EXISTS ${db}.${scratch}`, clickhouse_settings: NO_DEDUP });
  await client.command({
    query: `CREATE TABLE ${db}.${scratch} AS ${db}.${root} ENGINE = Memory`,
    clickhouse_settings: NO_DEDUP,
  });
  try {
    await insertJsonRows(client, `${db}.${scratch}`, rows, "");
    const partitions = chain.monthAligned
      ? (
          await (
            await client.query({
              query: `SELECT DISTINCT toString(${chain.rootPartitionKey}) AS id FROM ${db}.${scratch} ORDER BY id`,
              format: "JSONEachRow",
            })
          ).json<{ id: string }>()
        ).map((r) => r.id)
      : [];
    const columns = (await columnsOf(client, db, root)).filter((c) => c !== "sign").map(quoted);
    const list = columns.join(", ");
    const partitionFilter = chain.monthAligned ? "AND _partition_id IN {partitions:Array(String)}" : "";
    // Per distinct row (every column but sign): chunk's net sign minus the table's net sign, for the
    // rows of this chunk only (`mine`): rows of other chunks sharing an LSN (a snapshot) are left alone.
    const differences = `
      SELECT ${list}, sum(e) - sum(a) AS d
      FROM (
          SELECT ${list}, toInt64(sign) AS e, toInt64(0) AS a, 1 AS mine FROM ${db}.${scratch}
          UNION ALL
          SELECT ${list}, toInt64(0), toInt64(sign), 0 FROM ${db}.${root}
          WHERE lsn IN (SELECT lsn FROM ${db}.${scratch}) ${partitionFilter}
      )
      GROUP BY ${list}
      HAVING max(mine) = 1 AND d != 0`;
    const counted = await client.query({
      query: `SELECT toString(sum(abs(d))) AS n FROM (${differences})`,
      query_params: { partitions },
      format: "JSONEachRow",
    });
    const compensatingRows = Number((await counted.json<{ n: string }>())[0]?.n ?? 0);
    if (compensatingRows > 0) {
      await client.command({
        query: `INSERT INTO ${db}.${root} (${list}, sign)
                SELECT ${list}, toInt8(if(d > 0, 1, -1)) FROM (${differences})
                ARRAY JOIN range(toUInt64(abs(d))) AS copy`,
        query_params: { partitions },
        clickhouse_settings: NO_DEDUP,
      });
    }
    return { compensatingRows, partitions };
  } finally {
    await client.command({ query: `DROP TABLE IF EXISTS ${db}.${scratch}`, clickhouse_settings: NO_DEDUP });
  }
}

/**
 * Step 3: drops the chain's tables for the month partitions `months` and rebuilds them; a chain not
 * partitioned by month is truncated and rebuilt whole (`months` unused).
 */
export async function rebuildChain(
  client: ClickHouseClient,
  database: string,
  chain: MartChain,
  months: readonly string[],
): Promise<void> {
  const db = assertDatabaseName(database);
  const byMonth = chain.monthAligned;
  const ids = byMonth ? months : [];
  for (const id of ids) {
    if (!/^\d{6}$/.test(id))
      throw new ConsumerError("REPAIR_UNSUPPORTED", `unexpected partition id "${id}"`, false);
  }
  for (const table of chain.downstream) {
    if (byMonth) {
      for (const id of ids) {
        await client.command({
          query: `ALTER TABLE ${db}.${table} DROP PARTITION ID '${id}'`,
          clickhouse_settings: NO_DEDUP,
        });
      }
    } else {
      await client.command({ query: `TRUNCATE TABLE ${db}.${table}`, clickhouse_settings: NO_DEDUP });
    }
  }
  const from = new RegExp(`\\bFROM ${db}\\.${chain.root}\\b`);
  for (const { view, target, asSelect } of chain.firstViews) {
    if (!from.test(asSelect)) {
      throw new ConsumerError(
        "REPAIR_UNSUPPORTED",
        `materialized view ${db}.${view} does not read FROM ${db}.${chain.root} directly; it cannot be rebuilt`,
        false,
      );
    }
    const targetColumns = (await columnsOf(client, db, target)).map(quoted).join(", ");
    // One insert per month bounds the memory of the GROUP BY; the chain's deeper views run on it.
    for (const id of byMonth ? ids : [undefined]) {
      const source =
        id === undefined
          ? `${db}.${chain.root}`
          : `(SELECT * FROM ${db}.${chain.root} WHERE _partition_id = '${id}') AS ${chain.root}`;
      await client.command({
        query: `INSERT INTO ${db}.${target} (${targetColumns})
                SELECT ${targetColumns} FROM (${asSelect.replace(from, `FROM ${source}`)})`,
        clickhouse_settings: NO_DEDUP,
      });
    }
  }
}

/** Every month partition a change table holds (a reset may have touched any of them). */
async function allPartitions(client: ClickHouseClient, db: string, table: string): Promise<string[]> {
  const result = await client.query({
    query: `SELECT DISTINCT _partition_id AS id FROM ${db}.${table} ORDER BY id`,
    format: "JSONEachRow",
  });
  return (await result.json<{ id: string }>()).map((r) => r.id);
}

/**
 * Repairs the effect of one chunk whose writer may have died mid-insert (see the top of this file).
 * `resets` are the chunk's TRUNCATEs and new snapshots (sink/resets.ts): applied again (they are
 * idempotent) after the rows, and the chains of the change tables they touch rebuilt for every month.
 */
export async function repairChunk(
  client: ClickHouseClient,
  database: string,
  rows: RowsByTable,
  scratchSuffix: string,
  resets: readonly Reset[] = [],
): Promise<RepairSummary> {
  const started = Date.now();
  const db = assertDatabaseName(database);
  let dimensionRows = 0;
  for (const table of DIMENSION_TABLES) {
    const block = rows[table];
    if (!block?.length) continue;
    await insertJsonRows(client, `${db}.${table}`, block, "");
    dimensionRows += block.length;
  }
  const reset = new Set(
    resets.flatMap((r) =>
      resetTargets(r.sourceTable)
        .filter((t) => t.kind === "changes")
        .map((t) => t.table),
    ),
  );
  const repaired: { table: TargetTable; chain: MartChain; compensatingRows: number; partitions: string[] }[] =
    [];
  for (const table of CHANGE_TABLES) {
    const block = rows[table];
    if (!block?.length && !reset.has(table)) continue;
    const chain = await martChain(client, db, table);
    const scratch = assertDatabaseName(`repair_${table}_${scratchSuffix}`);
    const { compensatingRows, partitions } = block?.length
      ? await reconcileChangeTable(client, db, chain, block, scratch)
      : { compensatingRows: 0, partitions: [] };
    repaired.push({ table, chain, compensatingRows, partitions });
  }
  for (const r of resets) await applyReset(client, db, r);
  const changeTables: ChangeTableRepair[] = [];
  for (const { table, chain, compensatingRows, partitions } of repaired) {
    const months = reset.has(table) ? await allPartitions(client, db, table) : partitions;
    if (chain.downstream.length) await rebuildChain(client, db, chain, months);
    changeTables.push({
      table,
      compensatingRows,
      rebuilt: chain.monthAligned ? months : ["all"],
      downstream: chain.downstream,
    });
  }
  return { dimensionRows, changeTables, ms: Date.now() - started };
}

/** One log line: what a repair changed. */
export function formatRepair(first: bigint, last: bigint, summary: RepairSummary): string {
  const tables = summary.changeTables.map(
    (t) =>
      `${t.table} ${t.compensatingRows} compensating row(s), ${t.downstream.length} table(s) rebuilt for ` +
      (t.rebuilt[0] === "all" ? "all months" : `${t.rebuilt.length} month(s)`),
  );
  return (
    `repaired chunk ${first}-${last} left open by a consumer that died (${summary.ms} ms): ` +
    [`${summary.dimensionRows} dimension row(s) re-inserted`, ...tables].join("; ")
  );
}
