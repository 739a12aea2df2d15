import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { reportUserFor } from "../auth/access.js";
import { isStaff, type Principal } from "../auth/principal.js";
import { requireAccess } from "../auth/plugin.js";
import type { ReportService } from "../reports/service.js";
import { problemResponses } from "../schemas/common.js";
import {
  DailyReport,
  DayPathParams,
  MonthDays,
  MonthDaysQuery,
  MonthReport,
  MonthReportQuery,
  ReportList,
  ReportListQuery,
  StaffUserOnlyQuery,
  Summary,
  UserPathParams,
} from "../schemas/reports.js";

const common = {
  tags: ["reports"],
  security: [{ bearerAuth: [] }],
};
const errors = problemResponses(400, 401, 403, 404, 429, 503);
const caller = (principal: Principal | null): Principal => {
  if (!principal) throw new Error("requireAccess lets no request without a principal through");
  return principal;
};

/**
 * The report routes. Owners read their own CRM user only; support and admin read anyone and must
 * name the user (path parameter, or ?user_id= on /api/reports*); ml_engineer has no report access.
 */
export const reportRoutes: FastifyPluginAsyncTypebox<{ reports: ReportService }> = async (
  app,
  { reports },
) => {
  const access = { config: { access: "reports" as const }, preValidation: requireAccess("reports") };

  app.get(
    "/reports/user/:user_id",
    {
      ...access,
      schema: {
        ...common,
        summary: "Month report of a user (seed 01 §5.3 with the §5 KPIs)",
        description:
          "Financial figures (money as exact decimal text), devices with usage, battery, reliability and status. " +
          "A month without data is an empty report; an unknown user, or another user for an owner, is 404.",
        params: UserPathParams,
        querystring: MonthReportQuery,
        response: { 200: MonthReport, ...errors },
      },
    },
    async (request) =>
      reports.month(reportUserFor(caller(request.principal), request.params.user_id), request.query.month),
  );

  app.get(
    "/api/reports",
    {
      ...access,
      schema: {
        ...common,
        summary: "Months and days that have a report, newest first",
        querystring: ReportListQuery,
        response: { 200: ReportList, ...errors },
      },
    },
    async (request) => {
      const principal = caller(request.principal);
      const userId = reportUserFor(principal, request.query.user_id);
      return reports.list(
        userId,
        { limit: request.query.limit ?? 100, cursor: request.query.cursor },
        isStaff(principal),
      );
    },
  );

  app.get(
    "/api/reports/summary",
    {
      ...access,
      schema: {
        ...common,
        summary: "Totals of this month, last month (UTC) and all time",
        querystring: StaffUserOnlyQuery,
        response: { 200: Summary, ...errors },
      },
    },
    async (request) => reports.summary(reportUserFor(caller(request.principal), request.query.user_id)),
  );

  app.get(
    "/api/reports/days",
    {
      ...access,
      schema: {
        ...common,
        summary: "The month's daily usage, one entry per day with a report (the dashboard's month chart)",
        querystring: MonthDaysQuery,
        response: { 200: MonthDays, ...errors },
      },
    },
    async (request) =>
      reports.days(reportUserFor(caller(request.principal), request.query.user_id), request.query.month),
  );

  app.get(
    "/api/reports/:date",
    {
      ...access,
      schema: {
        ...common,
        summary: "Daily report with hourly data (seed 04)",
        params: DayPathParams,
        querystring: StaffUserOnlyQuery,
        response: { 200: DailyReport, ...errors },
      },
    },
    async (request) =>
      reports.day(reportUserFor(caller(request.principal), request.query.user_id), request.params.date),
  );
};
