import { MONTHLY_COST, type SubscriptionType } from "../generate/billing.js";
import { isoDate } from "../generate/calendar.js";
import { PAYMENT_COLUMNS, SUBSCRIPTION_COLUMNS, TICKET_COLUMNS } from "../generate/crm-rows.js";
import type { Rng } from "../generate/prng.js";
import type { RowChange, Statement } from "./statement.js";
import type { TicketStatus, World } from "./world.js";

/**
 * Live CRM changes. Each planner updates the in-memory world as it plans, so two changes of one
 * batch never pick the same row; a failing transaction ends the whole simulation anyway.
 */

const TICKET_NEXT: Record<TicketStatus, TicketStatus | "closed"> = {
  open: "in_progress",
  in_progress: "resolved",
  resolved: "closed",
};

const TICKET_TOPICS = [
  "Протез не включается",
  "Проблемы с батареей",
  "Дёргается движение",
  "Ошибка калибровки",
  "Вопрос по оплате подписки",
];

/** Share of prostheses out of service (in repair) the simulator drifts around. */
const OUT_OF_SERVICE_SHARE = 0.1;

export function insertPendingPayment(world: World, rng: Rng, nowMs: number): Statement[] {
  const subscription = world.activeSubscriptions.pick(rng);
  if (subscription === undefined) return [];
  const id = world.nextId.crm_payments++;
  world.pendingPayments.add(id);
  const at = new Date(nowMs).toISOString();
  return [
    {
      db: "crm",
      table: "crm_payments",
      op: "insert",
      columns: PAYMENT_COLUMNS,
      values: [
        id,
        subscription.userId,
        subscription.id,
        at,
        MONTHLY_COST[subscription.type],
        rng.weighted([
          ["card", 0.7],
          ["bank_transfer", 0.2],
          ["paypal", 0.1],
        ]),
        "pending",
        `Ежемесячная оплата подписки ${subscription.type} за ${at.slice(0, 7)}`,
        at,
      ],
    },
  ];
}

export function settlePayment(world: World, rng: Rng): Statement[] {
  const id = world.pendingPayments.take(rng);
  if (id === undefined) return [];
  return [
    {
      db: "crm",
      table: "crm_payments",
      op: "update",
      sql: "UPDATE crm_payments SET status = $2 WHERE payment_id = $1 AND status = 'pending'",
      params: [id, rng.chance(0.9) ? "success" : "failed"],
    },
  ];
}

/** A pending payment withdrawn before it cleared. */
export function cancelPayment(world: World, rng: Rng): Statement[] {
  const id = world.pendingPayments.take(rng);
  if (id === undefined) return [];
  return [
    {
      db: "crm",
      table: "crm_payments",
      op: "delete",
      sql: "DELETE FROM crm_payments WHERE payment_id = $1 AND status = 'pending'",
      params: [id],
    },
  ];
}

export function openTicket(world: World, rng: Rng, nowMs: number): Statement[] {
  if (world.users.length === 0) return [];
  const userId = rng.pick(world.users);
  const devices = world.prosthesesOf.get(userId) ?? [];
  const id = world.nextId.crm_support_tickets++;
  world.openTickets.add({ id, status: "open" });
  const at = new Date(nowMs).toISOString();
  return [
    {
      db: "crm",
      table: "crm_support_tickets",
      op: "insert",
      columns: TICKET_COLUMNS,
      values: [
        id,
        userId,
        devices.length > 0 && rng.chance(0.85) ? rng.pick(devices).id : null,
        rng.pick(TICKET_TOPICS),
        null,
        "open",
        at,
        at,
        null,
      ],
    },
  ];
}

/** open -> in_progress -> resolved (resolved_at set) -> closed. */
export function progressTicket(world: World, rng: Rng, nowMs: number): Statement[] {
  const ticket = world.openTickets.take(rng);
  if (ticket === undefined) return [];
  const next = TICKET_NEXT[ticket.status];
  if (next !== "closed") world.openTickets.add({ id: ticket.id, status: next });
  return [
    {
      db: "crm",
      table: "crm_support_tickets",
      op: "update",
      // greatest(): resolved_at may not precede created_at even if this clock lags the data.
      sql: `UPDATE crm_support_tickets
               SET status = $2, updated_at = $3,
                   resolved_at = CASE WHEN $5 THEN greatest($3::timestamptz, created_at) ELSE resolved_at END
             WHERE ticket_id = $1 AND status = $4`,
      params: [ticket.id, next, new Date(nowMs).toISOString(), ticket.status, next === "resolved"],
    },
  ];
}

function endSubscriptionStatement(id: number, nowMs: number): RowChange {
  return {
    db: "crm",
    table: "crm_subscriptions",
    op: "update",
    sql: `UPDATE crm_subscriptions SET end_date = greatest($2::date, start_date), is_active = false, updated_at = $3
           WHERE subscription_id = $1 AND is_active`,
    params: [id, isoDate(nowMs), new Date(nowMs).toISOString()],
  };
}

export function endSubscription(world: World, rng: Rng, nowMs: number): Statement[] {
  const subscription = world.activeSubscriptions.take(rng);
  if (subscription === undefined) return [];
  world.usersWithoutSubscription.add(subscription.userId);
  return [endSubscriptionStatement(subscription.id, nowMs)];
}

/** A customer without a subscription takes one; if everybody has one, somebody changes plan (end + new). */
export function startSubscription(world: World, rng: Rng, nowMs: number): Statement[] {
  const statements: Statement[] = [];
  let userId = world.usersWithoutSubscription.take(rng);
  let previous: SubscriptionType | undefined;
  if (userId === undefined) {
    const current = world.activeSubscriptions.take(rng);
    if (current === undefined) return [];
    statements.push(endSubscriptionStatement(current.id, nowMs));
    userId = current.userId;
    previous = current.type;
  }
  const choices = (["basic", "premium", "enterprise"] as const).filter((t) => t !== previous);
  const type = rng.pick(choices);
  const id = world.nextId.crm_subscriptions++;
  world.activeSubscriptions.add({ id, userId, type });
  const at = new Date(nowMs).toISOString();
  statements.push({
    db: "crm",
    table: "crm_subscriptions",
    op: "insert",
    columns: SUBSCRIPTION_COLUMNS,
    values: [id, userId, type, isoDate(nowMs), null, true, MONTHLY_COST[type], at, at],
  });
  return statements;
}

/** A prosthesis goes to repair (is_active=false) or comes back, keeping about 10% out of service. */
export function toggleProsthesis(world: World, rng: Rng, nowMs: number): Statement[] {
  if (world.prostheses.length === 0) return [];
  const outOfService = world.prostheses.filter((p) => !p.isActive);
  const comesBack = outOfService.length > world.prostheses.length * OUT_OF_SERVICE_SHARE;
  const candidates = comesBack ? outOfService : world.prostheses.filter((p) => p.isActive);
  if (candidates.length === 0) return [];
  const device = rng.pick(candidates);
  device.isActive = !device.isActive;
  return [
    {
      db: "crm",
      table: "crm_prosthetics",
      op: "update",
      sql: "UPDATE crm_prosthetics SET is_active = $2, updated_at = $3 WHERE prosthetic_id = $1",
      params: [device.id, device.isActive, new Date(nowMs).toISOString()],
    },
  ];
}
