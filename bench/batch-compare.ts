import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import type { ComparisonSpec } from "../consumers/src/reconcile/compare.js";
import { compareRows } from "../consumers/src/reconcile/index.js";
import { repoRoot } from "../scripts/config.js";
import { SEED_MARTS, SEED_NOT_COMPUTED, type BatchWay, type SeedMartName } from "./batch-dag.js";

/** Per seed mart: the oracle's rows, the rows the batch loaded, and reconcile's check of the mart. */
export type MartChecks = Record<
  SeedMartName,
  { oracle: readonly object[]; batch: readonly object[]; check: { spec: ComparisonSpec } }
>;

/** One seed mart of one batch way against the oracle, column by column over the rows both have. */
export interface MartComparison {
  mart: SeedMartName;
  oracleRows: number;
  batchRows: number;
  commonRows: number;
  missingInBatch: number;
  extraInBatch: number;
  /** Columns equal (by reconcile's rule for the column) in every row both sides have. */
  exact: string[];
  /** Columns with at least one differing cell, and how many. */
  differing: { column: string; cells: number }[];
  /** Seed mart columns the way does not compute (not compared). */
  notComputed: string[];
}

/**
 * Compares the marts a batch way loaded with the oracle, using reconcile's checks (key and column
 * rules) restricted to the seed mart's columns that the way computes.
 */
export function compareWithOracle(way: BatchWay, marts: MartChecks): MartComparison[] {
  const notComputed: readonly string[] = way === "seed" ? SEED_NOT_COMPUTED : [];
  return (Object.keys(marts) as SeedMartName[]).map((mart) => {
    const { oracle, batch, check } = marts[mart];
    const seedColumns = Object.keys(SEED_MARTS[mart].columns);
    const columns = Object.fromEntries(
      Object.entries(check.spec.columns).filter(([c]) => seedColumns.includes(c) && !notComputed.includes(c)),
    );
    const differences = compareRows({ ...check.spec, columns }, oracle, batch);
    const missingInBatch = differences.filter((d) => d.kind === "missing_in_mart").length;
    const extraInBatch = differences.filter((d) => d.kind === "unexpected_in_mart").length;
    const cells = new Map<string, number>();
    for (const d of differences) {
      if (d.kind === "value_mismatch" && d.column) cells.set(d.column, (cells.get(d.column) ?? 0) + 1);
    }
    return {
      mart,
      oracleRows: oracle.length,
      batchRows: batch.length,
      commonRows: oracle.length - missingInBatch,
      missingInBatch,
      extraInBatch,
      exact: Object.keys(columns).filter((c) => !cells.has(c)),
      differing: [...cells].map(([column, n]) => ({ column, cells: n })),
      notComputed: seedColumns.filter((c) => notComputed.includes(c)),
    };
  });
}

/** The streaming pipeline's freshness as the latest `npm run bench` recorded it. */
export interface PipelineFreshness {
  file: string;
  run: string;
  measure: string;
  p50Ms: number;
  p95Ms: number;
}

/** The last freshness row of the newest bench/results/pipeline-<date>.md (read, not measured). */
export function latestPipelineFreshness(): PipelineFreshness | null {
  const dir = path.join(repoRoot, "bench", "results");
  const newest = readdirSync(dir)
    .filter((f) => /^pipeline-\d{4}-\d{2}-\d{2}\.md$/.test(f))
    .sort()
    .at(-1);
  if (!newest) return null;
  const file = path.join(dir, newest);
  let run = "";
  let found: PipelineFreshness | null = null;
  for (const line of readFileSync(file, "utf8").split("\n")) {
    if (line.startsWith("## ")) run = line.slice(3).trim();
    const cells = line.split("|").map((c) => c.trim());
    const measure = cells[1] ?? "";
    const figures = /p50 (\d+) ms, p95 (\d+) ms/.exec(cells[2] ?? "");
    if (measure.startsWith("freshness") && figures) {
      found = { file, run, measure, p50Ms: Number(figures[1]), p95Ms: Number(figures[2]) };
    }
  }
  return found;
}
