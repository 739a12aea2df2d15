/**
 * Cell-by-cell comparison of a mart with its oracle. Pure.
 * Column kinds:
 * - exact: strings, integers and decimals (decimals are normalised text, compared as text);
 * - exact-float: floats computed from exact integer sums by one division (same IEEE result on
 *   both sides), compared with ===;
 * - float: averages of source doubles, whose summation order differs between engines, compared
 *   with a relative tolerance of `floatTolerance`.
 */
export type CellValue = string | number | null;
export type ColumnKind = "exact" | "exact-float" | "float";

export const floatTolerance = 1e-9;

export interface ComparisonSpec {
  mart: string;
  key: readonly string[];
  columns: Readonly<Record<string, ColumnKind>>;
}

export type DifferenceKind = "missing_in_mart" | "unexpected_in_mart" | "value_mismatch";

export interface RowDifference {
  mart: string;
  kind: DifferenceKind;
  key: Record<string, CellValue>;
  /** value_mismatch only. */
  column?: string;
  /** Oracle value (value_mismatch) */
  expected?: CellValue;
  /** Mart value (value_mismatch) */
  actual?: CellValue;
  /** The whole row that exists on one side only. */
  row?: Record<string, CellValue>;
}

type AnyRow = Record<string, unknown>;

function cell(value: unknown): CellValue {
  return value === undefined ? null : (value as CellValue);
}

export function sameCell(kind: ColumnKind, expected: CellValue, actual: CellValue): boolean {
  if (kind !== "float" || typeof expected !== "number" || typeof actual !== "number")
    return expected === actual;
  return Math.abs(expected - actual) <= floatTolerance * Math.max(1, Math.abs(expected), Math.abs(actual));
}

function keyOf(spec: ComparisonSpec, row: AnyRow): { id: string; key: Record<string, CellValue> } {
  const key = Object.fromEntries(spec.key.map((k) => [k, cell(row[k])]));
  return { id: JSON.stringify(spec.key.map((k) => row[k])), key };
}

function pick(spec: ComparisonSpec, row: AnyRow): Record<string, CellValue> {
  return Object.fromEntries([...spec.key, ...Object.keys(spec.columns)].map((c) => [c, cell(row[c])]));
}

export function compareRows(
  spec: ComparisonSpec,
  oracleRows: readonly object[],
  martRows: readonly object[],
): RowDifference[] {
  const oracle = oracleRows as readonly AnyRow[];
  const differences: RowDifference[] = [];
  const martById = new Map((martRows as readonly AnyRow[]).map((row) => [keyOf(spec, row).id, row]));
  const seen = new Set<string>();
  for (const expectedRow of oracle) {
    const { id, key } = keyOf(spec, expectedRow);
    seen.add(id);
    const actualRow = martById.get(id);
    if (!actualRow) {
      differences.push({ mart: spec.mart, kind: "missing_in_mart", key, row: pick(spec, expectedRow) });
      continue;
    }
    for (const [column, kind] of Object.entries(spec.columns)) {
      const expected = cell(expectedRow[column]);
      const actual = cell(actualRow[column]);
      if (!sameCell(kind, expected, actual)) {
        differences.push({ mart: spec.mart, kind: "value_mismatch", key, column, expected, actual });
      }
    }
  }
  for (const [id, actualRow] of martById) {
    if (!seen.has(id)) {
      differences.push({
        mart: spec.mart,
        kind: "unexpected_in_mart",
        key: keyOf(spec, actualRow).key,
        row: pick(spec, actualRow),
      });
    }
  }
  return differences;
}
