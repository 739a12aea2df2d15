import pg from "pg";
import { Gauge, type Registry } from "prom-client";
import type { PgEndpoint } from "../scripts/config.js";
import { METRIC_PREFIX, scrapeReader } from "./registry.js";

export interface SlotLag {
  slot: string;
  database: string;
  active: boolean;
  /** WAL bytes the slot's consumer (Debezium) has not confirmed; null before it confirmed anything. */
  lagBytes: number | null;
}

/** Lag of the named logical slots: WAL written since the position their consumer confirmed. */
export const SLOT_LAG_SQL = `
  SELECT slot_name, coalesce(database, '') AS database, active,
         pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::float8 AS lag_bytes
  FROM pg_replication_slots
  WHERE slot_name = ANY($1::text[])
  ORDER BY slot_name`;

/** Reads the slots' lag on a connection of its own, closed again. */
export async function readSlotLag(
  endpoint: PgEndpoint,
  slots: readonly string[],
  timeoutMs: number,
): Promise<SlotLag[]> {
  const client = new pg.Client({
    host: endpoint.host,
    port: endpoint.port,
    user: endpoint.user,
    password: endpoint.password,
    database: "postgres",
    connectionTimeoutMillis: timeoutMs,
    query_timeout: timeoutMs,
    application_name: "bionicpro-metrics",
  });
  await client.connect();
  try {
    const { rows } = await client.query<{
      slot_name: string;
      database: string;
      active: boolean;
      lag_bytes: number | null;
    }>(SLOT_LAG_SQL, [slots]);
    return rows.map((r) => ({
      slot: r.slot_name,
      database: r.database,
      active: r.active,
      lagBytes: r.lag_bytes === null ? null : Number(r.lag_bytes),
    }));
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * bionicpro_replication_slot_lag_bytes and bionicpro_replication_slot_active{slot,database}: the
 * source connectors' slots, read from pg_replication_slots on every scrape. A slot that does not
 * exist has no sample.
 */
export function registerSlotLag(
  registry: Registry,
  options: { pg: PgEndpoint; slots: readonly string[]; timeoutMs: number },
): void {
  // One read per scrape for both gauges; a failure counts once and leaves both out.
  const read = scrapeReader(registry, "replication_slot", options.timeoutMs, () =>
    readSlotLag(options.pg, options.slots, options.timeoutMs),
  );
  new Gauge({
    name: `${METRIC_PREFIX}replication_slot_lag_bytes`,
    help: "WAL bytes written since the position the source connector's replication slot confirmed (pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)), read on scrape",
    labelNames: ["slot", "database"],
    registers: [registry],
    async collect() {
      this.reset();
      for (const s of (await read()) ?? [])
        if (s.lagBytes !== null) this.set({ slot: s.slot, database: s.database }, s.lagBytes);
    },
  });
  new Gauge({
    name: `${METRIC_PREFIX}replication_slot_active`,
    help: "1 while a connector streams from the replication slot, 0 while none does (WAL is kept meanwhile)",
    labelNames: ["slot", "database"],
    registers: [registry],
    async collect() {
      this.reset();
      for (const s of (await read()) ?? [])
        this.set({ slot: s.slot, database: s.database }, s.active ? 1 : 0);
    },
  });
}
