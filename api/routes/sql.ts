import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { readFreshness } from "../../clickhouse/freshness.js";
import type { ClickHouseClient } from "@clickhouse/client";
import { requireAccess } from "../auth/plugin.js";
import { ApiError } from "../errors.js";
import { problemResponses } from "../schemas/common.js";
import { SqlJson, SqlRequest } from "../schemas/sql.js";
import { sqlFormat } from "../sql/accept.js";
import type { SqlService } from "../sql/runner.js";

export interface SqlRouteDeps {
  sql: SqlService;
  /** The reports client (freshness is read there, not on the ML session). */
  client: ClickHouseClient;
  database: string;
  clock: () => Date;
  maxQueryChars: number;
  rateLimit: { max: number; timeWindow: number };
}

/**
 * POST /api/sql for the ml_engineer role: one SELECT over the ml_* views and the mart tables, run
 * read-only with limits; JSON or CSV. The log gets the statement's shape without literals.
 */
export const sqlRoutes: FastifyPluginAsyncTypebox<SqlRouteDeps> = async (app, deps) => {
  app.post(
    "/api/sql",
    {
      config: { access: "sql", rateLimit: deps.rateLimit },
      preValidation: requireAccess("sql"),
      schema: {
        tags: ["ml"],
        summary: "Read-only SQL over the PII-free ml_* views and the mart tables (ml_engineer)",
        description:
          "Exactly one SELECT; no FORMAT, INTO OUTFILE, SETTINGS or table functions; readonly = 1 with " +
          "max_execution_time, max_result_rows (result_overflow_mode = throw) and max_memory_usage. " +
          "Output: JSON (default) or CSV, chosen by the body's format or the Accept header.",
        security: [{ bearerAuth: [] }],
        body: SqlRequest,
        response: {
          200: {
            description: "Rows",
            content: {
              "application/json": { schema: SqlJson },
              "text/csv": { schema: { type: "string", description: "CSV with a header row" } },
            },
          },
          ...problemResponses(400, 401, 403, 406, 413, 415, 422, 429, 503),
        },
      },
    },
    async (request, reply) => {
      const format = sqlFormat(request.body.format, request.headers.accept);
      if (request.body.query.length > deps.maxQueryChars)
        throw new ApiError(
          "SQL_QUERY_TOO_LONG",
          `the query has ${request.body.query.length} characters; at most ${deps.maxQueryChars}`,
        );
      const started = performance.now();
      const outcome = await deps.sql.run(request.body.query, format).catch((error: unknown) => {
        if (error instanceof ApiError)
          request.log.info({ sql: "refused", code: error.code }, "ml sql refused");
        throw error;
      });
      request.log.info({ sql: outcome.shape, format, ms: Math.round(performance.now() - started) }, "ml sql");
      if (outcome.format === "csv") return reply.type("text/csv; charset=utf-8").send(outcome.csv);
      const freshness = await readFreshness(deps.client, deps.database, deps.clock());
      return reply
        .type("application/json")
        .send({ ...outcome.json, data_as_of: freshness.dataAsOf, lag_seconds: freshness.lagSeconds });
    },
  );
};
