import { allocate } from "./allocate.js";
import { addMonths, DAY_MS, HOUR_MS, isoDate, utcMidnight, type HistoryWindow } from "./calendar.js";
import type { PaymentMethod, Population, User } from "./population.js";
import { rngFor, type Rng } from "./prng.js";

export type SubscriptionType = "basic" | "premium" | "enterprise";
export type PaymentStatus = "success" | "failed" | "pending";

/** Seed 01 §2.1 tariffs; a payment always charges its subscription's monthly cost. */
export const MONTHLY_COST: Record<SubscriptionType, string> = {
  basic: "2999.00",
  premium: "5999.00",
  enterprise: "9999.00",
};

const UPGRADE: Record<SubscriptionType, SubscriptionType> = {
  basic: "premium",
  premium: "enterprise",
  enterprise: "premium",
};

export interface Subscription {
  /** Assigned once all subscriptions are known, in start order. */
  subscriptionId: number;
  userId: number;
  type: SubscriptionType;
  startMs: number;
  /** UTC midnight of end_date; null while the subscription runs. */
  endMs: number | null;
  createdMs: number;
  updatedMs: number;
}

export interface Payment {
  paymentId: number;
  userId: number;
  subscription: Subscription;
  paymentMs: number;
  method: PaymentMethod;
  status: PaymentStatus;
  description: string;
}

export interface Billing {
  subscriptions: Subscription[];
  payments: Payment[];
}

const FAILURE_RATE = 0.06;
const CHURN_RATE = 0.2;
/** Card holds and bank transfers of the last two weeks may not have cleared yet. */
const PENDING_WINDOW_MS = 14 * DAY_MS;
const PENDING_SHARE = 0.5;

/** A user's billing calendar: monthly cycles from the first possible start to the last allowed cycle. */
interface Calendar {
  user: User;
  churned: boolean;
  firstCycleMs: number;
  /** How many monthly cycles fit; a churned user's last one must leave its paid month inside the window. */
  cycles: number;
}

function calendarOf(seed: number, user: User, firstPurchaseMs: number, window: HistoryWindow): Calendar {
  const rng = rngFor(seed, "billing-calendar", user.userId);
  let firstCycleMs = utcMidnight(firstPurchaseMs + rng.float(0, 40) * DAY_MS);
  const day = new Date(firstCycleMs).getUTCDate();
  // Billing on the 29th-31st would drift in short months; such customers are billed from the 1st.
  if (day > 28) firstCycleMs = addMonths(firstCycleMs - (day - 1) * DAY_MS, 1);
  const churned = rng.chance(CHURN_RATE);
  const lastDayMs = utcMidnight(window.endMs);
  const first = new Date(firstCycleMs);
  const last = new Date(lastDayMs);
  // Billing dates first + k months (k = 0, 1, ...) that fall on or before the last day.
  const cycles = Math.max(
    0,
    (last.getUTCFullYear() - first.getUTCFullYear()) * 12 +
      (last.getUTCMonth() - first.getUTCMonth()) +
      (last.getUTCDate() >= first.getUTCDate() ? 1 : 0),
  );
  return { user, churned, firstCycleMs, cycles: churned ? Math.max(0, cycles - 1) : cycles };
}

/** Payments per user: exactly `total`, at least one each when possible, weighted by tenure. */
function paymentsPerUser(seed: number, calendars: Calendar[], total: number): number[] {
  const rng = rngFor(seed, "payment-allocation");
  // Each cycle is one payment, or two when the first charge failed and was retried.
  const caps = calendars.map((c) => Math.floor(c.cycles * (1 + 2.5 * FAILURE_RATE)));
  const weights = calendars.map((c) => c.cycles * rng.float(0.5, 1));
  const payers = caps.filter((cap) => cap > 0).length;
  if (total < payers) return allocate(total, weights, caps);
  const rest = allocate(
    total - payers,
    weights,
    caps.map((cap) => Math.max(0, cap - 1)),
  );
  return rest.map((n, i) => n + ((caps[i] ?? 0) > 0 ? 1 : 0));
}

/** Splits `cycles` consecutive cycles into 1-3 subscriptions (plan changes), returns segment start indexes. */
function segmentStarts(rng: Rng, cycles: number): number[] {
  const segments = Math.min(
    cycles,
    rng.weighted([
      [1, 0.6],
      [2, 0.3],
      [3, 0.1],
    ]),
  );
  const cuts = rng.shuffle(Array.from({ length: cycles - 1 }, (_, i) => i + 1)).slice(0, segments - 1);
  return [0, ...cuts.sort((a, b) => a - b)];
}

function nextType(rng: Rng, current: SubscriptionType): SubscriptionType {
  if (rng.chance(0.7)) return UPGRADE[current];
  return current === "basic" ? "enterprise" : "basic";
}

function methodOf(rng: Rng, user: User): PaymentMethod {
  if (!rng.chance(0.08)) return user.paymentMethod;
  return rng.pick<PaymentMethod>(["card", "bank_transfer", "paypal"]);
}

function billUser(
  seed: number,
  calendar: Calendar,
  count: number,
  window: HistoryWindow,
  out: Billing,
): void {
  if (count === 0) return;
  const rng = rngFor(seed, "billing", calendar.user.userId);
  let failures = 0;
  for (let i = 0; i < count; i++) if (rng.chance(FAILURE_RATE)) failures++;
  failures = Math.min(failures, Math.floor(count / 2));
  let cycles = count - failures;
  if (cycles > calendar.cycles) {
    cycles = calendar.cycles;
    failures = count - cycles;
  }
  // An active customer's cycles run up to the end of the window; a churned one's stop early.
  const firstIndex = calendar.churned ? 0 : calendar.cycles - cycles;
  const cycleDates = Array.from({ length: cycles }, (_, i) =>
    addMonths(calendar.firstCycleMs, firstIndex + i),
  );
  const cycleMs = (i: number) => cycleDates[i] as number;
  const failed = new Set(rng.shuffle(Array.from({ length: cycles }, (_, i) => i)).slice(0, failures));

  const starts = segmentStarts(rng, cycles);
  let type = rng.weighted<SubscriptionType>([
    ["basic", 0.5],
    ["premium", 0.35],
    ["enterprise", 0.15],
  ]);
  starts.forEach((first, s) => {
    const nextFirst = starts[s + 1];
    const last = (nextFirst ?? cycles) - 1;
    const startMs = cycleMs(first);
    let endMs: number | null = null;
    if (nextFirst !== undefined) endMs = cycleMs(nextFirst) - DAY_MS;
    else if (calendar.churned) endMs = addMonths(cycleMs(last), 1) - DAY_MS;
    const createdMs = Math.round(startMs + rng.float(7, 9) * HOUR_MS);
    const subscription: Subscription = {
      subscriptionId: 0,
      userId: calendar.user.userId,
      type,
      startMs,
      endMs,
      createdMs,
      updatedMs: endMs === null ? createdMs : Math.round(endMs + rng.float(10, 18) * HOUR_MS),
    };
    out.subscriptions.push(subscription);
    for (let c = first; c <= last; c++) {
      const dueMs = cycleMs(c);
      const period = isoDate(dueMs).slice(0, 7);
      const chargeMs = Math.round(dueMs + rng.float(9, 20) * HOUR_MS);
      const payment = (paymentMs: number, status: PaymentStatus, description: string): Payment => ({
        paymentId: 0,
        userId: calendar.user.userId,
        subscription,
        paymentMs,
        method: methodOf(rng, calendar.user),
        status:
          status === "success" && paymentMs > window.endMs - PENDING_WINDOW_MS && rng.chance(PENDING_SHARE)
            ? "pending"
            : status,
        description,
      });
      const monthly = `Ежемесячная оплата подписки ${type} за ${period}`;
      if (failed.has(c)) {
        out.payments.push(payment(chargeMs, "failed", monthly));
        const retryMs = Math.min(Math.round(chargeMs + rng.float(2, 4) * DAY_MS), window.endMs);
        out.payments.push(payment(retryMs, "success", `Повторное списание: подписка ${type} за ${period}`));
      } else {
        out.payments.push(payment(chargeMs, "success", monthly));
      }
    }
    type = nextType(rng, type);
  });
}

/**
 * Subscriptions and exactly `paymentsTotal` payments (fewer only when --days leaves too few
 * billing months). Ids follow time, as the CRM would have assigned them.
 */
export function buildBilling(
  seed: number,
  window: HistoryWindow,
  population: Population,
  paymentsTotal: number,
): Billing {
  const firstPurchase = new Map<number, number>();
  for (const d of population.devices) {
    firstPurchase.set(d.userId, Math.min(firstPurchase.get(d.userId) ?? Infinity, d.purchaseMs));
  }
  const calendars = population.users.map((u) =>
    calendarOf(seed, u, firstPurchase.get(u.userId) ?? u.createdMs, window),
  );
  const counts = paymentsPerUser(seed, calendars, paymentsTotal);
  const billing: Billing = { subscriptions: [], payments: [] };
  calendars.forEach((calendar, i) => billUser(seed, calendar, counts[i] ?? 0, window, billing));
  billing.subscriptions
    .sort((a, b) => a.startMs - b.startMs || a.userId - b.userId)
    .forEach((s, i) => (s.subscriptionId = i + 1));
  billing.payments
    .sort((a, b) => a.paymentMs - b.paymentMs || a.userId - b.userId)
    .forEach((p, i) => (p.paymentId = i + 1));
  return billing;
}
