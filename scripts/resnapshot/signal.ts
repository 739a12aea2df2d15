import { randomBytes } from "node:crypto";
import { SOURCES, type SourceName } from "../../connectors/sources.js";

/** A source table of the declared catalogue (connectors/sources.ts) and the database it lives in. */
export interface CatalogueTable {
  source: SourceName;
  table: string;
}

/** The catalogue's table named `name` (`crm_payments`, or `crm.crm_payments`); undefined when unknown. */
export function findCatalogueTable(name: string): CatalogueTable | undefined {
  const dot = name.indexOf(".");
  const wanted = dot > 0 ? { source: name.slice(0, dot), table: name.slice(dot + 1) } : { table: name };
  for (const source of Object.keys(SOURCES) as SourceName[]) {
    if ("source" in wanted && wanted.source !== source) continue;
    if (SOURCES[source].tables.includes(wanted.table)) return { source, table: wanted.table };
  }
  return undefined;
}

export const catalogueTableNames = (): string[] =>
  (Object.keys(SOURCES) as SourceName[]).flatMap((s) => SOURCES[s].tables.map((t) => `${s}.${t}`));

/** One row of the signal table (connectors/README.md "Signals"). */
export interface SignalRow {
  id: string;
  type: "execute-snapshot";
  data: string;
}

/** A unique signal id that fits the signal table's varchar(64): `resnapshot-<table>-<time>-<random>`. */
const signalId = (table: string): string =>
  `resnapshot-${table}-${Date.now().toString(36)}-${randomBytes(3).toString("hex")}`;

/**
 * The `execute-snapshot` signal of a *blocking* snapshot of one table: Debezium pauses streaming,
 * reads the table as snapshot reads (`source.snapshot` first/true/last), then resumes. Not
 * incremental: the consumers map incremental reads as plain inserts, which would count every row a
 * second time; a blocking snapshot's reads are a reset of the table (docs/consumers.md "Resets").
 */
export function blockingSnapshotSignal(table: string, id = signalId(table)): SignalRow {
  return {
    id,
    type: "execute-snapshot",
    data: JSON.stringify({ "data-collections": [`public.${table}`], type: "blocking" }),
  };
}
