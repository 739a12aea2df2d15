import type { ClickHouseClient } from "@clickhouse/client";
import { freshnessAt, readFreshness, type Freshness } from "../../clickhouse/freshness.js";
import {
  findReportUser,
  onlyUsers,
  queryDataMonths,
  queryProsthesisStats,
  queryProstheticMonthlyMetrics,
  queryUserDailyReports,
  queryUserDevices,
  queryUserMonthlyMetrics,
} from "../../clickhouse/marts/index.js";
import { engineFeaturesOnce, type EngineFeatures } from "../../clickhouse/marts/device-history.js";
import { lineage, tablesRead } from "../../clickhouse/marts/lineage.js";
import { prosthesisStatsSql } from "../../clickhouse/marts/prosthesis-stats.js";
import { prostheticMonthlySql } from "../../clickhouse/marts/prosthetic-monthly.js";
import { userDailySql } from "../../clickhouse/marts/user-daily.js";
import { userMonthlySql } from "../../clickhouse/marts/user-monthly.js";
import { dataMonthsSql, reportUserSql } from "../../clickhouse/marts/users.js";
import { userNotFound } from "../auth/access.js";
import type { ReportCache } from "./cache.js";
import type { DailyReport, MonthDays, MonthReport, ReportList, Summary } from "../schemas/reports.js";
import { dailyReport } from "./daily-report.js";
import type { UserHistory } from "./history.js";
import { decodeCursor, reportEntries, reportPage } from "./listing.js";
import { monthReport } from "./month-report.js";
import { laterMonth, utcMonth } from "./period.js";
import { summary } from "./summary.js";

export interface ReportSource {
  client: ClickHouseClient;
  database: string;
  clock: () => Date;
  /** Keeps the marts' rows per user until the consumers change them (embedded default only). */
  cache?: ReportCache;
}

const freshnessOf = (f: Freshness) => ({ dataAsOf: f.dataAsOf, lagSeconds: f.lagSeconds });

/**
 * The reports of one user, read through the query layer (clickhouse/marts) with one explicit user
 * selection each. Every report checks that the marts know the user (else 404) and carries the
 * freshness read before its rows: the rows hold at least everything `data_as_of` claims. With a
 * cache (api/reports/cache.ts) the rows are read once per change of the user.
 */
export class ReportService {
  /** Per kind of read: the tables the consumers write that it depends on (see `sources`). */
  private readonly sourceTables = new Map<string, readonly string[]>();
  /**
   * What the engine offers the device-history queries (materialized CTEs: clickhouse/marts/device-history.ts),
   * asked at the first such read (again after a question it did not answer).
   */
  private readonly features: () => Promise<EngineFeatures>;

  constructor(private readonly source: ReportSource) {
    this.features = engineFeaturesOnce(source.client);
  }

  /**
   * The tables the consumers write whose changes can move the result of a `kind` of read: the
   * tables its SQL names, traced back through the materialized views (clickhouse/marts/lineage.ts).
   * A SQL text's tables do not depend on the user it selects, so they are worked out once per kind.
   */
  private sources(kind: string, sql: (database: string) => string[]): readonly string[] {
    let tables = this.sourceTables.get(kind);
    if (!tables) {
      const { database } = this.source;
      tables = lineage().sources(sql(database).flatMap((text) => tablesRead(text, database)));
      this.sourceTables.set(kind, tables);
    }
    return tables;
  }

  /** 404 USER_NOT_FOUND unless the marts know the user. */
  assertKnownUser(userId: number): Promise<void> {
    return this.knownUser(userId);
  }

  /** The read `load`, kept in the cache (when there is one) as `key` of the user until they change. */
  private cached<T>(
    key: string,
    userId: number,
    load: () => Promise<T>,
    options?: { needsDevices?: boolean; tables?: readonly string[] },
  ): Promise<T> {
    const { cache } = this.source;
    return cache ? cache.get(key, userId, load, options) : load();
  }

  /** The user's current prostheses and chips (what a live stream follows). */
  devices(userId: number): Promise<{ prostheticIds: number[]; chipIds: string[] }> {
    const { cache, client, database } = this.source;
    const load = () => queryUserDevices(client, database, userId);
    return cache ? cache.devices(`devices:${userId}`, userId, load) : load();
  }

  /** 404 unless the marts know the user; with a cache, also learns their devices (see ReportCache). */
  private async knownUser(userId: number): Promise<void> {
    const known = await this.cached(
      `known:${userId}`,
      userId,
      async () => Boolean(await findReportUser(this.source.client, this.source.database, userId)),
      { needsDevices: false, tables: this.sources("known", (db) => [reportUserSql(db)]) },
    );
    if (!known) throw userNotFound(userId);
    if (this.source.cache) await this.devices(userId);
  }

  private async freshness(now: Date): Promise<Freshness> {
    const { client, database, cache } = this.source;
    const read = () => readFreshness(client, database, now);
    return freshnessAt(cache ? await cache.freshness(read) : await read(), now);
  }

  async month(userId: number, month: string): Promise<MonthReport> {
    const { client, database } = this.source;
    const now = this.source.clock();
    await this.knownUser(userId);
    const freshness = await this.freshness(now);
    const range = { from: month, to: month };
    const users = onlyUsers([userId]);
    // Two entries: a payment keeps the devices' figures, a device event the user's billing.
    const [rows, devices] = await Promise.all([
      this.cached(
        `month:${userId}:${month}`,
        userId,
        () => queryUserMonthlyMetrics(client, database, range, users),
        {
          tables: this.sources("month", (db) => [userMonthlySql(db, users)]),
        },
      ),
      this.cached(
        `month-devices:${userId}:${month}`,
        userId,
        async () => queryProstheticMonthlyMetrics(client, database, range, users, await this.features()),
        { tables: this.sources("month-devices", (db) => [prostheticMonthlySql(db, users)]) },
      ),
    ]);
    return monthReport({ userId, month, user: rows[0], devices, now, freshness: freshnessOf(freshness) });
  }

  async day(userId: number, date: string): Promise<DailyReport> {
    const { client, database } = this.source;
    await this.knownUser(userId);
    const freshness = await this.freshness(this.source.clock());
    const period = { firstDay: date, lastDay: date };
    const users = onlyUsers([userId]);
    const [days, hours] = await this.cached(
      `day:${userId}:${date}`,
      userId,
      () =>
        Promise.all([
          this.features().then((f) => queryUserDailyReports(client, database, period, users, f)),
          queryProsthesisStats(client, database, "hour", period, users),
        ]),
      {
        tables: this.sources("day", (db) => [userDailySql(db, users), prosthesisStatsSql(db, "hour", users)]),
      },
    );
    return dailyReport({
      userId,
      date,
      day: days.find((d) => d.report_date === date),
      hours,
      freshness: freshnessOf(freshness),
    });
  }

  /** The month's daily usage (user_daily_reports), one entry per day with a report. */
  async days(userId: number, month: string): Promise<MonthDays> {
    const { client, database } = this.source;
    await this.knownUser(userId);
    const freshness = await this.freshness(this.source.clock());
    const users = onlyUsers([userId]);
    const rows = await this.cached(
      `days:${userId}:${month}`,
      userId,
      async () =>
        queryUserDailyReports(client, database, { from: month, to: month }, users, await this.features()),
      { tables: this.sources("days", (db) => [userDailySql(db, users)]) },
    );
    return {
      user_id: userId,
      month,
      days: rows
        .filter((r) => r.report_date.startsWith(month))
        .sort((a, b) => a.report_date.localeCompare(b.report_date))
        .map((r) => ({
          date: r.report_date,
          usage_hours: r.usage_hours,
          power_on_count: r.power_on_count,
          total_movements: r.total_movements,
          successful_movements: r.successful_movements,
          total_errors: r.total_errors,
          warning_count: r.warning_count,
          error_event_count: r.error_event_count,
          critical_error_count: r.critical_error_count,
          avg_battery_level: r.avg_battery_level,
        })),
      data_as_of: freshness.dataAsOf,
      lag_seconds: freshness.lagSeconds,
    };
  }

  /** Every mart row of the user from their first month with state to the later of their last and the current month. */
  private history(userId: number, now: Date): Promise<UserHistory> {
    const users = onlyUsers([userId]);
    return this.cached(`history:${userId}:${utcMonth(now)}`, userId, () => this.readHistory(userId, now), {
      tables: this.sources("history", (db) => [
        dataMonthsSql(db, users),
        userMonthlySql(db, users),
        prostheticMonthlySql(db, users),
        userDailySql(db, users),
      ]),
    });
  }

  private async readHistory(userId: number, now: Date): Promise<UserHistory> {
    const { client, database } = this.source;
    const users = onlyUsers([userId]);
    const bound = await queryDataMonths(client, database, users);
    if (!bound) return { range: null, months: [], devices: [], days: [] };
    const range = { from: bound.from, to: laterMonth(bound.to, utcMonth(now)) };
    const features = await this.features();
    const [months, devices, days] = await Promise.all([
      queryUserMonthlyMetrics(client, database, range, users),
      queryProstheticMonthlyMetrics(client, database, range, users, features),
      queryUserDailyReports(client, database, range, users, features),
    ]);
    const withData = [...months, ...devices, ...days].map((r) => r.report_date.slice(0, 7)).sort();
    const first = withData[0];
    const last = withData.at(-1);
    return { range: first && last ? { from: first, to: last } : null, months, devices, days };
  }

  async list(userId: number, page: { limit: number; cursor?: string }, staff: boolean): Promise<ReportList> {
    const after = page.cursor === undefined ? null : decodeCursor(page.cursor);
    const now = this.source.clock();
    await this.knownUser(userId);
    const freshness = await this.freshness(now);
    const history = await this.history(userId, now);
    const named = staff ? `?user_id=${userId}` : "";
    const entries = reportEntries(history, {
      month: (m) => `/reports/user/${userId}?month=${m}`,
      day: (d) => `/api/reports/${d}${named}`,
    });
    return {
      user_id: userId,
      ...reportPage(entries, page.limit, after),
      data_as_of: freshness.dataAsOf,
      lag_seconds: freshness.lagSeconds,
    };
  }

  async summary(userId: number): Promise<Summary> {
    const now = this.source.clock();
    await this.knownUser(userId);
    const freshness = await this.freshness(now);
    const history = await this.history(userId, now);
    return summary({ userId, history, now, freshness: freshnessOf(freshness) });
  }
}
