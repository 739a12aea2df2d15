import type { Rng } from "../generate/prng.js";
import {
  cancelPayment,
  endSubscription,
  insertPendingPayment,
  openTicket,
  progressTicket,
  settlePayment,
  startSubscription,
  toggleProsthesis,
} from "./crm-changes.js";
import type { Statement } from "./statement.js";
import {
  deleteRawSample,
  deleteTelemetryEvent,
  insertBatteryMetric,
  insertRawSample,
  insertTelemetryEvent,
} from "./telemetry-changes.js";
import type { World } from "./world.js";

type Planner = (world: World, rng: Rng, nowMs: number) => Statement[];

/** Relative frequency of each kind of change: telemetry is the bulk, as in production. */
const CHANGE_MIX: readonly (readonly [Planner, number])[] = [
  [insertTelemetryEvent, 40],
  [insertRawSample, 30],
  [insertBatteryMetric, 14],
  [deleteTelemetryEvent, 1.5],
  [deleteRawSample, 1.5],
  [insertPendingPayment, 3],
  [settlePayment, 3],
  [cancelPayment, 0.5],
  [openTicket, 1.5],
  [progressTicket, 2.5],
  [endSubscription, 0.7],
  [startSubscription, 0.8],
  [toggleProsthesis, 1],
];

/**
 * Plans the next change. A kind with nothing to act on (no pending payment left, say) falls
 * back to a telemetry insert, then to a new ticket; only an empty CRM has nothing to change.
 */
export function planChange(world: World, rng: Rng, nowMs: number): Statement[] {
  for (const plan of [rng.weighted(CHANGE_MIX), insertTelemetryEvent, openTicket]) {
    const statements = plan(world, rng, nowMs);
    if (statements.length > 0) return statements;
  }
  throw new Error("nothing to simulate on: the source databases are empty (run generate first)");
}
