import type pg from "pg";
import type { SubscriptionType } from "../generate/billing.js";
import { PRIMARY_KEY, CRM_TABLES, TELEMETRY_TABLES, type SourceTable } from "../generate/source-tables.js";
import { RandomPool } from "./random-pool.js";

export interface Prosthesis {
  id: number;
  userId: number;
  chipId: string;
  isActive: boolean;
}

export interface ActiveSubscription {
  id: number;
  userId: number;
  type: SubscriptionType;
}

export type TicketStatus = "open" | "in_progress" | "resolved";

export interface OpenTicket {
  id: number;
  status: TicketStatus;
}

/** A device's battery as the simulator reports it: a slow random walk, charging or not. */
export interface BatteryState {
  level: number;
  charging: boolean;
}

/**
 * What the simulator needs to know to produce valid changes: the next free id per table and
 * the rows it may touch. Loaded once (O(users) rows), then kept in step with its own changes.
 */
export interface World {
  nextId: Record<SourceTable, number>;
  users: number[];
  prostheses: Prosthesis[];
  prosthesesOf: Map<number, Prosthesis[]>;
  activeSubscriptions: RandomPool<ActiveSubscription>;
  usersWithoutSubscription: RandomPool<number>;
  pendingPayments: RandomPool<number>;
  openTickets: RandomPool<OpenTicket>;
  battery: Map<number, BatteryState>;
  /** The spared users' prostheses and chips: retractions of existing device rows leave them out. */
  spared: { prosthetics: number[]; chips: string[] };
}

async function nextIds(
  client: pg.ClientBase,
  tables: readonly SourceTable[],
): Promise<Partial<Record<SourceTable, number>>> {
  const ids: Partial<Record<SourceTable, number>> = {};
  for (const table of tables) {
    const { rows } = await client.query<{ next: string }>(
      `SELECT coalesce(max(${PRIMARY_KEY[table]}), 0) + 1 AS next FROM ${table}`,
    );
    ids[table] = Number(rows[0]?.next ?? 1);
  }
  return ids;
}

/** What the simulator may change; the rows of `spareUsers` are left out of it. */
export async function loadWorld(
  crm: pg.ClientBase,
  telemetry: pg.ClientBase,
  spareUsers: readonly number[] = [],
): Promise<World> {
  const spare = spareUsers.map(Number);
  const users = (
    await crm.query<{ user_id: number }>(
      "SELECT user_id FROM crm_users WHERE NOT user_id = ANY($1::bigint[]) ORDER BY user_id",
      [spare],
    )
  ).rows.map((r) => r.user_id);
  const prostheses = (
    await crm.query<{ prosthetic_id: number; user_id: number; chip_id: string; is_active: boolean }>(
      "SELECT prosthetic_id, user_id, chip_id, is_active FROM crm_prosthetics WHERE NOT user_id = ANY($1::bigint[]) ORDER BY prosthetic_id",
      [spare],
    )
  ).rows.map((r) => ({ id: r.prosthetic_id, userId: r.user_id, chipId: r.chip_id, isActive: r.is_active }));
  const prosthesesOf = new Map<number, Prosthesis[]>();
  for (const p of prostheses) prosthesesOf.set(p.userId, [...(prosthesesOf.get(p.userId) ?? []), p]);

  const subscriptions = (
    await crm.query<{ subscription_id: number; user_id: number; subscription_type: SubscriptionType }>(
      "SELECT subscription_id, user_id, subscription_type FROM crm_subscriptions WHERE is_active AND NOT user_id = ANY($1::bigint[]) ORDER BY subscription_id",
      [spare],
    )
  ).rows.map((r) => ({ id: r.subscription_id, userId: r.user_id, type: r.subscription_type }));
  const subscribed = new Set(subscriptions.map((s) => s.userId));

  const pending = (
    await crm.query<{ payment_id: number }>(
      "SELECT payment_id FROM crm_payments WHERE status = 'pending' AND NOT user_id = ANY($1::bigint[]) ORDER BY payment_id",
      [spare],
    )
  ).rows.map((r) => r.payment_id);
  const tickets = (
    await crm.query<{ ticket_id: number; status: TicketStatus }>(
      "SELECT ticket_id, status FROM crm_support_tickets WHERE status <> 'closed' AND NOT user_id = ANY($1::bigint[]) ORDER BY ticket_id",
      [spare],
    )
  ).rows.map((r) => ({ id: r.ticket_id, status: r.status }));

  const spared = (
    await crm.query<{ prosthetic_id: number; chip_id: string }>(
      "SELECT prosthetic_id, chip_id FROM crm_prosthetics WHERE user_id = ANY($1::bigint[]) ORDER BY prosthetic_id",
      [spare],
    )
  ).rows;

  const nextId = {
    ...(await nextIds(crm, CRM_TABLES)),
    ...(await nextIds(telemetry, TELEMETRY_TABLES)),
  } as Record<SourceTable, number>;

  return {
    nextId,
    users,
    prostheses,
    prosthesesOf,
    activeSubscriptions: new RandomPool(subscriptions),
    usersWithoutSubscription: new RandomPool(users.filter((u) => !subscribed.has(u))),
    pendingPayments: new RandomPool(pending),
    openTickets: new RandomPool(tickets),
    battery: new Map(),
    spared: { prosthetics: spared.map((r) => r.prosthetic_id), chips: spared.map((r) => r.chip_id) },
  };
}
