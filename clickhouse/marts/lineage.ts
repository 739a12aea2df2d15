import { migrationFiles } from "../migrate.js";
import { splitStatements } from "../split-statements.js";
import { assertDatabaseName } from "../sql.js";

const name = "[A-Za-z_][A-Za-z0-9_]*";
const view = new RegExp(
  String.raw`\bCREATE\s+(?:OR\s+REPLACE\s+)?(MATERIALIZED\s+)?VIEW\s+(?:IF\s+NOT\s+EXISTS\s+)?\$\{db\}\.(${name})(?:\s+TO\s+\$\{db\}\.(${name}))?`,
  "i",
);
const tableReference = new RegExp(String.raw`\$\{db\}\.(${name})`, "g");

/**
 * Which tables feed which, from the migrations' views: a materialized view's target is fed by every
 * table its statement names (the one whose inserts trigger it, and any it joins), a plain view by
 * every table it reads. Tables nothing feeds are the ones the consumers write.
 */
export class Lineage {
  private readonly inputs = new Map<string, Set<string>>();

  /** `scripts`: migration texts with the `${db}` placeholder, as in clickhouse/migrations. */
  constructor(scripts: readonly string[]) {
    for (const statement of scripts.flatMap(splitStatements).map(withoutLineComments)) {
      const match = view.exec(statement);
      if (!match) continue;
      const [, materialized, viewName, target] = match as unknown as [
        string,
        string | undefined,
        string,
        string?,
      ];
      const produced = materialized && target ? target : viewName;
      const read = [...statement.matchAll(tableReference)]
        .map((m) => m[1] as string)
        .filter((t) => t !== viewName && t !== produced);
      const into = this.inputs.get(produced) ?? new Set<string>();
      for (const t of read) into.add(t);
      this.inputs.set(produced, into);
    }
  }

  /** The tables written directly (fed by no view) whose writes can change any of `tables`. */
  sources(tables: Iterable<string>): string[] {
    const found = new Set<string>();
    const seen = new Set<string>();
    const visit = (table: string) => {
      if (seen.has(table)) return;
      seen.add(table);
      const inputs = this.inputs.get(table);
      if (!inputs) found.add(table);
      else for (const input of inputs) visit(input);
    };
    for (const table of tables) visit(table);
    return [...found].sort();
  }

  /** The tables written directly whose writes can change the result of `sql` (which qualifies its tables with `database`). */
  sourcesOfQuery(sql: string, database: string): string[] {
    return this.sources(tablesRead(sql, database));
  }
}

/** Every table of `database` that `sql` names as `database.table` (this project's SQL qualifies every table). */
export function tablesRead(sql: string, database: string): string[] {
  const db = assertDatabaseName(database);
  const reference = new RegExp(String.raw`(?<![A-Za-z0-9_])${db}\.(${name})`, "g");
  return [...new Set([...sql.matchAll(reference)].map((m) => m[1] as string))].sort();
}

const withoutLineComments = (statement: string) =>
  statement
    .split("\n")
    .filter((line) => !line.trimStart().startsWith("--"))
    .join("\n");

let migrationsLineage: Lineage | undefined;

/** The lineage of this project's migrations (clickhouse/migrations), read once. */
export function lineage(): Lineage {
  migrationsLineage ??= new Lineage(migrationFiles().map((m) => m.sql));
  return migrationsLineage;
}
