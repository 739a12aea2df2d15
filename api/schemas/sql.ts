import { Type } from "typebox";
import { freshnessProperties } from "./common.js";

export const SqlRequest = Type.Object(
  {
    query: Type.String({
      minLength: 1,
      description:
        "One SELECT over the ml_* views and the mart tables (unqualified names resolve in the marts database)",
      examples: ["SELECT device_type, count() AS n FROM ml_prosthetics GROUP BY device_type ORDER BY n DESC"],
    }),
    format: Type.Optional(
      Type.Union([Type.Literal("json"), Type.Literal("csv")], {
        description: "Output format; wins over the Accept header",
      }),
    ),
  },
  { additionalProperties: false },
);

export const SqlJson = Type.Object({
  columns: Type.Array(
    Type.Object({ name: Type.String(), type: Type.String({ description: "ClickHouse type" }) }),
  ),
  rows: Type.Array(Type.Record(Type.String(), Type.Unknown()), {
    description: "One object per row; 64-bit integers and decimals as strings (exact)",
  }),
  row_count: Type.Integer({ minimum: 0 }),
  statistics: Type.Object({
    elapsed_ms: Type.Number(),
    rows_read: Type.Integer(),
    bytes_read: Type.Integer(),
  }),
  ...freshnessProperties,
});
