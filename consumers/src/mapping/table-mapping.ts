import type { ChangeEnvelope, SourceRow } from "../envelope.js";
import { MappingError } from "./errors.js";
import type { ChRow, RowsByTable, SourceName, TargetTable } from "./types.js";
import { msToDateTime64, RowReader } from "./values.js";

/** How one source table lands in ClickHouse: signed fact rows, a dimension, or both. */
export interface TableMapping {
  source: SourceName;
  table: string;
  /** Signed change tables: the measures and keys a mart needs, taken from the row image alone. */
  facts?: { target: TargetTable; row: (r: RowReader) => ChRow }[];
  /** ReplacingMergeTree dimension: the latest image per key. */
  dimension?: { target: TargetTable; row: (r: RowReader) => ChRow };
}

interface EventMeta {
  lsn: bigint;
  /** The LSN as decimal text, the signed rows' `lsn`. */
  lsnText: string;
  commitTs: string;
  offset: bigint;
}

/** Dimension version: (lsn << 64) | offset, as decimal text (UInt128). Only dimensions need it. */
const versionOf = (meta: EventMeta): string => ((meta.lsn << 64n) | meta.offset).toString();

function image(mapping: TableMapping, envelope: ChangeEnvelope, which: "before" | "after"): SourceRow {
  const row = envelope[which];
  if (row) return row;
  const code = which === "after" ? "MAPPING_MISSING_AFTER" : "MAPPING_MISSING_BEFORE";
  throw new MappingError(code, `${mapping.table} op "${envelope.op}" without ${which}`, mapping.table);
}

function push(rows: RowsByTable, target: TargetTable, row: ChRow) {
  (rows[target] ??= []).push(row);
}

/** The image's row made a signed change row (in place: the row was made for this and only this). */
function signedRow(sign: 1 | -1, row: ChRow, meta: EventMeta): ChRow {
  row.sign = sign;
  row.lsn = meta.lsnText;
  row.commit_ts = meta.commitTs;
  return row;
}

function sameRow(a: ChRow, b: ChRow): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}

function factRows(mapping: TableMapping, envelope: ChangeEnvelope, meta: EventMeta, rows: RowsByTable) {
  for (const fact of mapping.facts ?? []) {
    const before =
      envelope.op === "u" || envelope.op === "d"
        ? fact.row(new RowReader(mapping.table, image(mapping, envelope, "before")))
        : null;
    const after =
      envelope.op === "d" ? null : fact.row(new RowReader(mapping.table, image(mapping, envelope, "after")));
    // An update that leaves every mart column unchanged (e.g. only updated_at) nets to nothing.
    if (before && after && sameRow(before, after)) continue;
    if (before) push(rows, fact.target, signedRow(-1, before, meta));
    if (after) push(rows, fact.target, signedRow(1, after, meta));
  }
}

function dimensionRows(mapping: TableMapping, envelope: ChangeEnvelope, meta: EventMeta, rows: RowsByTable) {
  const dimension = mapping.dimension;
  if (!dimension) return;
  const deleted = envelope.op === "d";
  const source = image(mapping, envelope, deleted ? "before" : "after");
  push(rows, dimension.target, {
    ...dimension.row(new RowReader(mapping.table, source)),
    version: versionOf(meta),
    is_deleted: deleted ? 1 : 0,
    commit_ts: meta.commitTs,
  });
}

/** Rows for a c / r / u / d event of a mapped table. */
export function mapRowChange(mapping: TableMapping, envelope: ChangeEnvelope, offset: bigint): RowsByTable {
  const lsn = envelope.source.lsn;
  if (lsn === null || lsn === undefined) {
    throw new MappingError("MAPPING_MISSING_LSN", `${mapping.table} event without source.lsn`, mapping.table);
  }
  const meta: EventMeta = {
    lsn,
    lsnText: lsn.toString(),
    commitTs: msToDateTime64(envelope.source.ts_ms),
    offset,
  };
  const rows: RowsByTable = {};
  dimensionRows(mapping, envelope, meta, rows);
  factRows(mapping, envelope, meta, rows);
  return rows;
}
