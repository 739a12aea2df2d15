import type { ClickHouseClient } from "@clickhouse/client";
import { assertDatabaseName } from "../../../clickhouse/sql.js";
import { martChecks, martNames, type MartName } from "../reconcile/index.js";
import { tableInfos, viewTarget } from "../sink/crash-repair.js";
import { resetTargets } from "../sink/resets.js";
import type { Catalogue } from "./scope.js";
import { sourceTableNames } from "./scope.js";

/** Names of `<db>.<table>` references in SQL text. */
function tablesIn(sql: string, db: string): string[] {
  const names = [...sql.matchAll(new RegExp(`\\b\`?${db}\`?\\.\`?(\\w+)\`?`, "g"))].map(
    (m) => m[1] as string,
  );
  return [...new Set(names)].sort();
}

/** A database name that appears nowhere else in the mart queries' text. */
const PROBE_DB = "replay_scope_probe";

/**
 * The tables each reconciled mart's query reads, taken from the query text itself: every mart query
 * is one statement over `<db>.<table>` names, so it is run against a client that only records the SQL
 * and answers no rows. No I/O.
 */
export async function martReads(): Promise<Map<MartName, string[]>> {
  const reads = new Map<MartName, string[]>();
  for (const mart of martNames) {
    const statements: string[] = [];
    const recorder = {
      query: ({ query }: { query: string }) => {
        statements.push(query);
        return Promise.resolve({ json: () => Promise.resolve([]) });
      },
    } as unknown as ClickHouseClient;
    await martChecks[mart].mart(
      { ch: { client: recorder, database: PROBE_DB }, oracle: undefined as never, dimension: [] },
      { from: "2026-01", to: "2026-01" },
    );
    reads.set(mart, tablesIn(statements.join("\n"), PROBE_DB));
  }
  return reads;
}

/**
 * The catalogue of `database`: the mapping targets of every source table (TableMapping, as resets use
 * them), the materialized views as the database declares them (system.tables, as crash repair reads
 * them), and what each mart reads.
 */
export async function readCatalogue(client: ClickHouseClient, database: string): Promise<Catalogue> {
  const db = assertDatabaseName(database);
  const infos = await tableInfos(client, db);
  const views = [...infos.values()]
    .filter((t) => t.engine === "MaterializedView")
    .map((view) => ({ name: view.name, reads: tablesIn(view.asSelect, db), target: viewTarget(db, view) }))
    .sort((a, b) => a.name.localeCompare(b.name));
  return {
    sources: new Map(sourceTableNames().map((table) => [table, resetTargets(table).map((t) => t.table)])),
    views,
    marts: await martReads(),
  };
}
