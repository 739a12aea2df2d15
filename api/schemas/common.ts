import { Type, type TSchema } from "typebox";
import { errorCodes } from "../errors.js";

/** Months and days the marts can hold (ClickHouse Date: 1970-01-01 .. 2149-06-06), UTC. */
const year = "(19[7-9][0-9]|20[0-9]{2}|21[0-3][0-9]|214[0-8])";
export const monthPattern = `^${year}-(0[1-9]|1[0-2])$`;
export const dayPattern = `^${year}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$`;

export const Month = Type.String({
  pattern: monthPattern,
  description: "UTC calendar month, YYYY-MM (1970-01 .. 2148-12)",
  examples: ["2024-02"],
});

export const Day = Type.String({
  format: "date",
  pattern: dayPattern,
  description: "UTC calendar day, YYYY-MM-DD (a real date: 2024-02-30 is refused)",
  examples: ["2024-02-02"],
});

export const UserId = Type.Integer({
  minimum: 1,
  maximum: 2_147_483_647,
  description: "CRM user id (crm_users.user_id), a positive 32-bit integer",
  examples: [1],
});

export const Money = Type.String({
  pattern: "^-?[0-9]+\\.[0-9]{2}$",
  description: "Exact decimal amount as text with two fraction digits (never a float)",
  examples: ["2999.00"],
});

export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

/** Every report carries the freshness of the marts it was computed from (clickhouse/freshness.ts). */
export const freshnessProperties = {
  data_as_of: Nullable(
    Type.String({
      format: "date-time",
      description: "Source commit time (UTC) up to which every figure is complete; null before any data",
    }),
  ),
  lag_seconds: Nullable(Type.Number({ minimum: 0, description: "now - data_as_of in seconds" })),
};

export const Problem = Type.Object(
  {
    type: Type.String({ description: "tag:bionicpro.ru,2026:problem:<code>" }),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    instance: Type.String({ description: "The request path that failed" }),
    code: Type.Enum(errorCodes, { description: "Stable error code (docs/api.md)" }),
    request_id: Type.String(),
    errors: Type.Optional(
      Type.Array(Type.Object({ parameter: Type.String(), message: Type.String() }), {
        description: "Validation failures, one per parameter",
      }),
    ),
  },
  { additionalProperties: true, description: "RFC 9457 problem details" },
);

/** Error responses of a route, for the OpenAPI document (the bodies are written by the error handler). */
export function problemResponses(...statuses: number[]): Record<number, unknown> {
  return Object.fromEntries(
    statuses.map((status) => [
      status,
      {
        description: `Problem (${status})`,
        content: { "application/problem+json": { schema: Problem } },
      },
    ]),
  );
}
