import type { MartsChange } from "./feed.js";

/** The parts of the dashboard a stream sends; each is one report of the reports API. */
export const sections = ["month", "today", "days"] as const;
export type Section = (typeof sections)[number];

/** Whose figures a stream follows: one CRM user and their devices (dim_prosthetics). */
export interface StreamScope {
  userId: number;
  prosthetics: ReadonlySet<number>;
  chips: ReadonlySet<string>;
}

/**
 * Which sections a table's rows feed: money and subscriptions the month report; device events and
 * battery metrics the month's devices, today's summary and the daily usage; movement samples today's
 * hours and the daily movements; a prosthesis (owner, chip) or user row everything. Tickets feed none.
 */
const sectionsByTable: Record<string, readonly Section[]> = {
  payment_changes: ["month"],
  subscription_changes: ["month"],
  dim_subscriptions: ["month"],
  telemetry_event_changes: ["month", "today", "days"],
  battery_metric_changes: ["month", "today", "days"],
  raw_telemetry_changes: ["today", "days"],
  dim_prosthetics: ["month", "today", "days"],
  dim_users: ["month", "today", "days"],
  dim_support_tickets: [],
};

/** True when the change names the scope's user, one of its prostheses or one of its chips. */
export function touchesScope(change: MartsChange, scope: StreamScope): boolean {
  if (change.all || change.users.has(scope.userId)) return true;
  for (const id of change.prosthetics) if (scope.prosthetics.has(id)) return true;
  for (const chip of change.chips) if (scope.chips.has(chip)) return true;
  return false;
}

/**
 * The sections of the scope's dashboard a change may have altered: none when it names neither the
 * user nor their devices (another user's change never reaches this stream), else those its tables feed.
 */
export function affectedSections(change: MartsChange, scope: StreamScope): Set<Section> {
  if (!touchesScope(change, scope)) return new Set();
  if (change.all) return new Set(sections);
  const affected = new Set<Section>();
  for (const table of change.tables) {
    // An unknown table (a newer consumer) may feed anything.
    for (const section of sectionsByTable[table] ?? sections) affected.add(section);
  }
  return affected;
}

/** The scope's devices must be read again: a prosthesis row named the user or one of the devices. */
export function reloadsScope(change: MartsChange, scope: StreamScope): boolean {
  return (change.all || change.tables.has("dim_prosthetics")) && touchesScope(change, scope);
}
