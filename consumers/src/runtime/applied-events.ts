import type { ChRow, RowsByTable, TargetTable } from "../mapping/types.js";
import { targetTables } from "../mapping/types.js";

/**
 * Which report subjects one applied chunk changed, derived from the chunk's own rows (no lookup):
 * payments and subscriptions name their user, device facts their prosthesis, movement samples their
 * chip, dimension rows their keys. A reader maps prostheses and chips to users itself (dim_prosthetics).
 */
export interface MartsTouch {
  /** CRM users named by a changed row (payments, subscriptions, users, prostheses, tickets). */
  users: number[];
  /** Prostheses named by a changed row (events, battery metrics, prostheses, tickets). */
  prosthetics: number[];
  /** Chips named by a changed row (movement samples, prostheses). */
  chips: string[];
  /** The ClickHouse tables the chunk wrote. */
  tables: TargetTable[];
  /** A TRUNCATE or a new snapshot was applied: any user's figures may have changed. */
  reset: boolean;
}

/** What MartsPipeline reports after a chunk is recorded applied (and before its Kafka offset is committed). */
export interface ChunkApplied {
  topic: string;
  partition: number;
  firstOffset: bigint;
  lastOffset: bigint;
  records: number;
  /** Newest source commit of the chunk (data or heartbeat), ClickHouse DateTime64(3) text; null when none. */
  commitTs: string | null;
  touched: MartsTouch;
  /** Date.now() when the chunk was recorded applied. */
  appliedAt: number;
}

export type ChunkAppliedListener = (event: ChunkApplied) => void;

/**
 * What MartsPipeline reports before it writes a chunk's rows (after its intent is recorded): a reader
 * that keeps figures (the API's report cache) drops those the chunk names before they can change.
 */
export interface ChunkApplying {
  topic: string;
  partition: number;
  firstOffset: bigint;
  lastOffset: bigint;
  touched: MartsTouch;
}

/**
 * Runs before the chunk's first write. A listener that returns a promise holds the write until it
 * settles: the consumers in a worker thread wait for the API's thread to have dropped what the
 * chunk names from its report cache (runtime/thread.ts).
 */
export type ChunkApplyingListener = (event: ChunkApplying) => void | Promise<void>;

/** Columns naming each kind of subject, per target table. */
const userColumns: Partial<Record<TargetTable, string>> = {
  dim_users: "user_id",
  dim_prosthetics: "user_id",
  dim_subscriptions: "user_id",
  dim_support_tickets: "user_id",
  subscription_changes: "user_id",
  payment_changes: "user_id",
};
const prostheticColumns: Partial<Record<TargetTable, string>> = {
  dim_prosthetics: "prosthetic_id",
  dim_support_tickets: "prosthetic_id",
  telemetry_event_changes: "prosthetic_id",
  battery_metric_changes: "prosthetic_id",
};
const chipColumns: Partial<Record<TargetTable, string>> = {
  dim_prosthetics: "chip_id",
  raw_telemetry_changes: "chip_id",
};

/**
 * The tables whose rows name no user, only a device (a prosthesis or a chip): a reader learns whose
 * figures they change from dim_prosthetics.
 */
export const deviceRoutedTables: readonly TargetTable[] = targetTables.filter(
  (t) => userColumns[t] === undefined && (prostheticColumns[t] !== undefined || chipColumns[t] !== undefined),
);

function collect<T>(
  rows: readonly ChRow[],
  column: string | undefined,
  into: Set<T>,
  as: (v: unknown) => T | null,
) {
  if (!column) return;
  for (const row of rows) {
    const value = as(row[column]);
    if (value !== null) into.add(value);
  }
}

const asInt = (v: unknown): number | null => {
  const n = typeof v === "string" ? Number(v) : v;
  return typeof n === "number" && Number.isInteger(n) ? n : null;
};
const asText = (v: unknown): string | null => (typeof v === "string" ? v : null);

/** The subjects of a chunk's rows; `resets` = TRUNCATEs and new snapshots the chunk applied. */
export function touchedBy(rows: RowsByTable, resets: number): MartsTouch {
  const users = new Set<number>();
  const prosthetics = new Set<number>();
  const chips = new Set<string>();
  const tables: TargetTable[] = [];
  for (const table of targetTables) {
    const block = rows[table];
    if (!block?.length) continue;
    tables.push(table);
    collect(block, userColumns[table], users, asInt);
    collect(block, prostheticColumns[table], prosthetics, asInt);
    collect(block, chipColumns[table], chips, asText);
  }
  const sorted = <T>(s: Set<T>) => [...s].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return {
    users: sorted(users),
    prosthetics: sorted(prosthetics),
    chips: sorted(chips),
    tables,
    reset: resets > 0,
  };
}

/**
 * The listeners of chunks being applied and applied. An "applying" listener runs before the chunk's
 * first write (synchronously, or the write waits for the promise it returns), an "applied" one after
 * the chunk is recorded applied; whatever a listener throws or rejects with is reported to `onError`
 * and never reaches the pipeline.
 */
export class AppliedChunks {
  private readonly listeners = new Set<ChunkAppliedListener>();
  private readonly applyingListeners = new Set<ChunkApplyingListener>();

  constructor(private readonly onError: (error: unknown) => void) {}

  /** Adds a listener; returns the function that removes it. */
  on(listener: ChunkAppliedListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Adds an "applying" listener; returns the function that removes it. */
  onApplying(listener: ChunkApplyingListener): () => void {
    this.applyingListeners.add(listener);
    return () => {
      this.applyingListeners.delete(listener);
    };
  }

  emit(event: ChunkApplied): void {
    this.notify(this.listeners, event);
  }

  /** Calls the "applying" listeners; a promise when one of them returned one (the write awaits it). */
  emitApplying(event: ChunkApplying): Promise<void> | undefined {
    return this.notify(this.applyingListeners, event);
  }

  private notify<E>(listeners: Set<(event: E) => void | Promise<void>>, event: E): Promise<void> | undefined {
    let pending: Promise<void>[] | undefined;
    for (const listener of listeners) {
      try {
        const result = listener(event);
        if (result instanceof Promise)
          (pending ??= []).push(result.catch((error: unknown) => this.onError(error)));
      } catch (error) {
        this.onError(error);
      }
    }
    return pending && Promise.all(pending).then(() => undefined);
  }

  /** Listeners of either kind. */
  get size(): number {
    return this.listeners.size + this.applyingListeners.size;
  }
}
