import { Type, type Static } from "typebox";
import { freshnessProperties, Nullable } from "./common.js";

export const ConsumerHealth = Type.Object({
  status: Type.Union([
    Type.Literal("running"),
    Type.Literal("failed"),
    Type.Literal("stopped"),
    Type.Literal("unknown"),
  ]),
  lag: Nullable(Type.Integer({ minimum: 0, description: "Kafka records not yet applied (end - committed)" })),
  records: Type.Integer({ minimum: 0 }),
  chunks: Type.Integer({ minimum: 0 }),
  dead_letters: Type.Integer({ minimum: 0 }),
  last_flush_at: Nullable(Type.String({ format: "date-time" })),
  error: Nullable(Type.String()),
});
export type ConsumerHealth = Static<typeof ConsumerHealth>;

export const Health = Type.Object({
  status: Type.Union([Type.Literal("ok"), Type.Literal("degraded"), Type.Literal("down")], {
    description: "down: ClickHouse unreachable (503); degraded: marts not ready or consumers not running",
  }),
  checks: Type.Object({
    clickhouse: Type.Object({
      status: Type.Union([Type.Literal("up"), Type.Literal("down")]),
      latency_ms: Type.Number(),
      error: Nullable(Type.String()),
    }),
    marts: Type.Object({
      status: Type.Union([Type.Literal("ready"), Type.Literal("not_ready"), Type.Literal("unknown")]),
      migrations_applied: Type.Integer(),
      migrations_expected: Type.Integer(),
      reason: Nullable(Type.String()),
    }),
    consumers: Nullable(ConsumerHealth),
  }),
  sources: Type.Array(Type.Object({ source: Type.String(), ...freshnessProperties }), {
    description: "Freshness per source database",
  }),
  ...freshnessProperties,
});
export type Health = Static<typeof Health>;

export const Probe = Type.Object({
  status: Type.Union([Type.Literal("ok"), Type.Literal("not_ready")]),
  reason: Type.Optional(Type.String()),
});
