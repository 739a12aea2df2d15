export {
  compareRows,
  floatTolerance,
  type CellValue,
  type ColumnKind,
  type RowDifference,
} from "./compare.js";
export { formatReconcileResult } from "./format.js";
export { martChecks, martNames, type MartName } from "./marts.js";
export {
  reconcile,
  type MartReconciliation,
  type PgConnection,
  type ReconcileOptions,
  type ReconcileResult,
} from "./reconcile.js";
