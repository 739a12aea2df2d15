import { isMlView } from "../../clickhouse/access/ml-views.js";
import { martTables } from "../../clickhouse/marts/tables.js";

/**
 * What ML engineers may read through POST /api/sql: the PII-free `ml_*` views (migration 008, listed
 * in clickhouse/access/ml-views.ts, the same list the server-mode role is granted) and
 * the aggregate mart tables (ids and AggregateFunction states only). Everything else — dimensions
 * with names and contacts, change tables, pipeline state, other databases, system tables, table
 * functions — is refused.
 */

export interface Relation {
  name: string;
  engine: string;
}

/** A relation of the marts database ML may read: one of the ml_* views or a mart table. */
export function isAllowedRelation(relation: Relation): boolean {
  if (isMlView(relation.name)) return relation.engine === "View";
  return (martTables as readonly string[]).includes(relation.name);
}

/**
 * Functions that read outside the query's tables (files, dictionaries, Join tables, models) or
 * describe the server's schema and disks. Compared in lower case; an entry ending in `*` is a prefix.
 */
export const forbiddenFunctions = [
  "file",
  "dict*",
  "joinget*",
  "catboostevaluate",
  "hascolumnintable",
  "filesystem*",
  "getclienthttpheader",
  "getmacro",
  "getserversetting",
  "input",
] as const;

export function isForbiddenFunction(name: string): boolean {
  const lower = name.toLowerCase();
  return forbiddenFunctions.some((f) => (f.endsWith("*") ? lower.startsWith(f.slice(0, -1)) : lower === f));
}
