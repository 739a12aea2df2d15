import { MONTHLY_COST, type Payment, type Subscription } from "./billing.js";
import { isoDate, isoTimestamp } from "./calendar.js";
import { copyLine } from "./copy-text.js";
import type { Device, User } from "./population.js";
import type { Ticket } from "./tickets.js";

/** COPY column lists and text rows of the CRM tables (postgres/001_crm_db.sql). */

export const USER_COLUMNS = [
  "user_id",
  "user_uuid",
  "login",
  "first_name",
  "last_name",
  "email",
  "phone",
  "created_at",
  "updated_at",
] as const;

export function userRow(u: User): string {
  const p = u.person;
  return copyLine([
    u.userId,
    u.uuid,
    p.login,
    p.firstName,
    p.lastName,
    p.email,
    p.phone,
    isoTimestamp(u.createdMs),
    isoTimestamp(u.updatedMs),
  ]);
}

export const PROSTHETIC_COLUMNS = [
  "prosthetic_id",
  "user_id",
  "prosthetic_uuid",
  "chip_id",
  "device_type",
  "serial_number",
  "model",
  "purchase_date",
  "warranty_end_date",
  "is_active",
  "created_at",
  "updated_at",
] as const;

export function prostheticRow(d: Device): string {
  return copyLine([
    d.prostheticId,
    d.userId,
    d.uuid,
    d.chipId,
    d.deviceType,
    d.serialNumber,
    d.model,
    isoDate(d.purchaseMs),
    isoDate(d.warrantyEndMs),
    d.isActive,
    isoTimestamp(d.purchaseMs),
    isoTimestamp(d.retiredMs ?? d.purchaseMs),
  ]);
}

export const SUBSCRIPTION_COLUMNS = [
  "subscription_id",
  "user_id",
  "subscription_type",
  "start_date",
  "end_date",
  "is_active",
  "monthly_cost",
  "created_at",
  "updated_at",
] as const;

export function subscriptionRow(s: Subscription): string {
  return copyLine([
    s.subscriptionId,
    s.userId,
    s.type,
    isoDate(s.startMs),
    s.endMs === null ? null : isoDate(s.endMs),
    s.endMs === null,
    MONTHLY_COST[s.type],
    isoTimestamp(s.createdMs),
    isoTimestamp(s.updatedMs),
  ]);
}

export const PAYMENT_COLUMNS = [
  "payment_id",
  "user_id",
  "subscription_id",
  "payment_date",
  "amount",
  "payment_method",
  "status",
  "description",
  "created_at",
] as const;

export function paymentRow(p: Payment): string {
  return copyLine([
    p.paymentId,
    p.userId,
    p.subscription.subscriptionId,
    isoTimestamp(p.paymentMs),
    MONTHLY_COST[p.subscription.type],
    p.method,
    p.status,
    p.description,
    isoTimestamp(p.paymentMs),
  ]);
}

export const TICKET_COLUMNS = [
  "ticket_id",
  "user_id",
  "prosthetic_id",
  "title",
  "description",
  "status",
  "created_at",
  "updated_at",
  "resolved_at",
] as const;

export function ticketRow(t: Ticket): string {
  return copyLine([
    t.ticketId,
    t.userId,
    t.prostheticId,
    t.title,
    t.description,
    t.status,
    isoTimestamp(t.createdMs),
    isoTimestamp(t.updatedMs),
    t.resolvedMs === null ? null : isoTimestamp(t.resolvedMs),
  ]);
}
