import { PassThrough } from "node:stream";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { reportUserFor } from "../auth/access.js";
import { requireAccess } from "../auth/plugin.js";
import { ApiError } from "../errors.js";
import { openReportStream, type LiveReports } from "../live/service.js";
import type { ReportService } from "../reports/service.js";
import { problemResponses } from "../schemas/common.js";
import { StaffUserOnlyQuery } from "../schemas/reports.js";

/**
 * GET /api/reports/stream: Server-Sent Events with the caller's dashboard figures as they change
 * (api/live/report-stream.ts documents the events). Owners follow themselves, support and admin the
 * user they name. The stream ends when the access token expires.
 */
export const streamRoutes: FastifyPluginAsyncTypebox<{ live: LiveReports; reports: ReportService }> = async (
  app,
  { live, reports },
) => {
  app.get(
    "/api/reports/stream",
    {
      config: { access: "reports" as const },
      preValidation: requireAccess("reports"),
      schema: {
        tags: ["reports"],
        security: [{ bearerAuth: [] }],
        summary: "Live dashboard figures (Server-Sent Events)",
        description:
          "Events `month`, `today`, `days` (the current month report, today's daily report and the month's " +
          "daily usage, sent at connect and again whenever the consumers apply a change naming this user or " +
          "their devices; id `<epoch>.<seq>`), `freshness` ({data_as_of, lag_seconds}, when it moves), " +
          "`problem`, `token-expired`; a comment line every heartbeat. Send Last-Event-ID to resume: only " +
          "the sections changed since are sent again. docs/dashboard.md has the protocol.",
        querystring: StaffUserOnlyQuery,
        headers: {
          type: "object",
          properties: { "last-event-id": { type: "string", maxLength: 64 } },
        },
        response: {
          200: {
            description: "An event stream",
            content: { "text/event-stream": { schema: { type: "string" } } },
          },
          ...problemResponses(400, 401, 403, 404, 429, 503),
        },
      },
    },
    async (request, reply) => {
      const principal = request.principal;
      if (!principal) throw new ApiError("AUTH_TOKEN_MISSING", "send an access token");
      const userId = reportUserFor(principal, request.query.user_id);
      await reports.assertKnownUser(userId);
      if (live.open.size >= live.config.maxConnections)
        throw new ApiError(
          "STREAM_LIMIT_REACHED",
          "the server has as many live streams as it serves; retry later",
          {
            headers: { "retry-after": "10" },
          },
        );
      const body = new PassThrough();
      const lastEventId = request.headers["last-event-id"];
      const stream = await openReportStream(live, {
        userId,
        sink: body,
        lastEventId: typeof lastEventId === "string" ? lastEventId : undefined,
        endAt: principal.expiresAt,
        log: request.log,
      });
      const end = () => {
        stream.close();
        live.open.delete(stream);
      };
      live.open.set(stream, () => body.end());
      body.once("close", end);
      reply.raw.once("close", () => {
        end();
        body.destroy();
      });
      // The client may have gone while the first figures were read.
      if (body.destroyed || request.raw.destroyed) end();
      return reply
        .header("cache-control", "no-store")
        .header("x-accel-buffering", "no")
        .type("text/event-stream; charset=utf-8")
        .send(body as never);
    },
  );
};
