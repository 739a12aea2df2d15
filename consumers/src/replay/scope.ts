import { SOURCES } from "../../../connectors/sources.js";
import type { MartName } from "../reconcile/index.js";
import { ReplayError } from "./errors.js";

/**
 * What feeds what, read from the project's own declarations (consumers/src/replay/catalogue.ts):
 * the TableMapping targets of every source table, the materialized views of the ClickHouse database,
 * and the tables each reconciled mart's query reads.
 */
export interface Catalogue {
  /** Source table -> the ClickHouse tables its mapping writes (dimension and change tables). */
  sources: ReadonlyMap<string, readonly string[]>;
  /** Materialized views: the tables each one's SELECT reads and the table it writes. */
  views: readonly { name: string; reads: readonly string[]; target: string }[];
  /** Reconciled mart -> the ClickHouse tables its query reads. */
  marts: ReadonlyMap<MartName, readonly string[]>;
}

/** What a `replay --tables` rebuilds, reconciles and swaps. */
export interface ReplayScope {
  /** The source tables named on the command line (catalogue order). */
  requested: string[];
  /** The source tables replayed: the requested ones and whatever the closure adds (catalogue order). */
  sources: string[];
  /** The ClickHouse tables rebuilt in the shadow and swapped (sorted). */
  tables: string[];
  /** The marts reconciled: every mart whose query reads a rebuilt table (catalogue order). */
  marts: MartName[];
  /** Tables those marts read that are not rebuilt: copied into the shadow for the reconcile only (sorted). */
  inputs: string[];
}

/** The source tables a replay may name (connectors/sources.ts). */
export const sourceTableNames = (): string[] => Object.values(SOURCES).flatMap((s) => [...s.tables]);

/**
 * `--tables a,b`: the source tables, each known (connectors/sources.ts SOURCES), no repeats, in the
 * catalogue's order. An unknown name is a usage error that lists the known ones.
 */
export function parseTables(value: string): string[] {
  const known = sourceTableNames();
  const names = value
    .split(",")
    .map((n) => n.trim())
    .filter((n) => n !== "");
  const unknown = names.filter((n) => !known.includes(n));
  if (names.length === 0 || unknown.length > 0) {
    throw new ReplayError(
      "REPLAY_UNKNOWN_TABLE",
      `--tables "${value}": ${names.length === 0 ? "no table named" : `unknown source table(s) ${unknown.join(", ")}`}; ` +
        `expected a comma-separated list of ${known.join(", ")}`,
    );
  }
  return known.filter((n) => names.includes(n));
}

/**
 * The closure of a partial replay. A rebuilt table must end up holding exactly what the live one
 * would, so everything that writes it must be replayed too; the fixpoint of:
 * - a replayed source table's mapping targets are rebuilt;
 * - a view reading a rebuilt table writes a rebuilt table (the chain below it);
 * - a view writing a rebuilt table has every table it reads that something feeds rebuilt (a join
 *   with a dimension, or a second chain into the same mart: the view's output depends on them when
 *   it runs); a table nothing feeds is an input;
 * - every source table whose mapping writes a rebuilt table is replayed.
 * Then the marts reconciled are those whose query reads a rebuilt table; what else they read is an
 * input too. Inputs are copied into the shadow as they are live, never swapped. Pure.
 */
export function replayScope(catalogue: Catalogue, requested: readonly string[]): ReplayScope {
  const unknown = requested.filter((t) => !catalogue.sources.has(t));
  if (unknown.length > 0) {
    throw new ReplayError(
      "REPLAY_UNKNOWN_TABLE",
      `unknown source table(s) ${unknown.join(", ")}; expected ${[...catalogue.sources.keys()].join(", ")}`,
    );
  }
  const fed = new Set([...[...catalogue.sources.values()].flat(), ...catalogue.views.map((v) => v.target)]);
  const sources = new Set(requested);
  const tables = new Set<string>();
  const inputs = new Set<string>();
  for (let grew = true; grew;) {
    grew = false;
    const add = <T>(set: Set<T>, item: T) => {
      if (set.has(item)) return;
      set.add(item);
      grew = true;
    };
    for (const [source, targets] of catalogue.sources) {
      if (sources.has(source)) for (const t of targets) add(tables, t);
      else if (targets.some((t) => tables.has(t))) add(sources, source);
    }
    for (const view of catalogue.views) {
      if (view.reads.some((r) => tables.has(r))) add(tables, view.target);
      if (tables.has(view.target)) for (const r of view.reads) add(fed.has(r) ? tables : inputs, r);
    }
  }
  const marts = [...catalogue.marts].filter(([, reads]) => reads.some((r) => tables.has(r)));
  for (const r of marts.flatMap(([, reads]) => reads)) if (!tables.has(r)) inputs.add(r);
  const order = [...catalogue.sources.keys()];
  return {
    requested: order.filter((s) => requested.includes(s)),
    sources: order.filter((s) => sources.has(s)),
    tables: [...tables].sort(),
    marts: marts.map(([mart]) => mart),
    inputs: [...inputs].sort(),
  };
}
