import type { ClickHouseClient } from "@clickhouse/client";
import {
  allUsers,
  queryProsthesisStats,
  queryProstheticMonthlyMetrics,
  queryUserDailyReports,
  queryUserMonthlyMetrics,
  type MonthRange,
  type StatsGrain,
} from "../../../clickhouse/marts/index.js";
import {
  oracleProsthesisStats,
  oracleProstheticMonthly,
  oracleUserDaily,
  oracleUserMonthly,
  type OracleDatabases,
  type ProsthesisDimensionRow,
} from "../../../clickhouse/oracle/index.js";
import type { ColumnKind, ComparisonSpec } from "./compare.js";

export const martNames = [
  "report_user_monthly_metrics",
  "report_prosthetic_monthly_metrics",
  "user_prosthesis_stats_hourly",
  "user_prosthesis_stats_daily",
  "user_prosthesis_stats_monthly",
  "user_daily_reports",
] as const;

export type MartName = (typeof martNames)[number];

export interface MartSources {
  ch: { client: ClickHouseClient; database: string };
  oracle: OracleDatabases;
  dimension: ProsthesisDimensionRow[];
}

type Rows = readonly object[];

export interface MartCheck {
  spec: ComparisonSpec;
  mart(sources: MartSources, range: MonthRange): Promise<Rows>;
  oracle(sources: MartSources, range: MonthRange): Promise<Rows>;
}

const statsColumns: Record<string, ColumnKind> = {
  user_id: "exact",
  prosthesis_id: "exact",
  customer_name: "exact",
  prosthesis_model: "exact",
  movements_count: "exact",
  successful_movements: "exact",
  avg_response_time: "exact-float",
  avg_battery_level: "exact-float",
  error_count: "exact",
};

function statsCheck(mart: MartName, grain: StatsGrain): MartCheck {
  return {
    spec: { mart, key: ["chip_id", "report_date", "report_hour"], columns: statsColumns },
    mart: ({ ch }, range) => queryProsthesisStats(ch.client, ch.database, grain, range, allUsers),
    oracle: ({ oracle, dimension }, range) => oracleProsthesisStats(oracle, grain, range, dimension),
  };
}

/** What `reconcile` compares: every mart, its key, and how each column must match. */
export const martChecks: Record<MartName, MartCheck> = {
  report_user_monthly_metrics: {
    spec: {
      mart: "report_user_monthly_metrics",
      key: ["user_id", "report_date"],
      columns: {
        user_uuid: "exact",
        total_payments: "exact",
        successful_payments: "exact",
        failed_payments: "exact",
        pending_payments: "exact",
        failed_payments_count: "exact",
        active_subscriptions_count: "exact",
        subscription_cost_total: "exact",
      },
    },
    mart: ({ ch }, range) => queryUserMonthlyMetrics(ch.client, ch.database, range, allUsers),
    oracle: ({ oracle }, range) => oracleUserMonthly(oracle, range),
  },
  report_prosthetic_monthly_metrics: {
    spec: {
      mart: "report_prosthetic_monthly_metrics",
      key: ["prosthetic_id", "report_date"],
      columns: {
        user_id: "exact",
        user_uuid: "exact",
        prosthetic_uuid: "exact",
        device_type: "exact",
        power_on_count: "exact",
        power_off_count: "exact",
        total_active_hours: "exact-float",
        avg_discharge_rate_active: "float",
        avg_discharge_rate_idle: "float",
        avg_charge_rate: "float",
        charge_cycles: "exact",
        warning_count: "exact",
        error_count: "exact",
        critical_error_count: "exact",
        downtime_minutes: "exact",
      },
    },
    mart: ({ ch }, range) => queryProstheticMonthlyMetrics(ch.client, ch.database, range, allUsers),
    oracle: ({ oracle, dimension }, range) => oracleProstheticMonthly(oracle, range, dimension),
  },
  user_prosthesis_stats_hourly: statsCheck("user_prosthesis_stats_hourly", "hour"),
  user_prosthesis_stats_daily: statsCheck("user_prosthesis_stats_daily", "day"),
  user_prosthesis_stats_monthly: statsCheck("user_prosthesis_stats_monthly", "month"),
  user_daily_reports: {
    spec: {
      mart: "user_daily_reports",
      key: ["user_id", "report_date"],
      columns: {
        user_uuid: "exact",
        prostheses_count: "exact",
        total_movements: "exact",
        successful_movements: "exact",
        movement_success_rate: "exact-float",
        avg_response_time_ms: "exact-float",
        avg_battery_level: "exact-float",
        total_errors: "exact",
        uptime_hours: "exact",
        usage_hours: "exact-float",
        power_on_count: "exact",
        warning_count: "exact",
        error_event_count: "exact",
        critical_error_count: "exact",
      },
    },
    mart: ({ ch }, range) => queryUserDailyReports(ch.client, ch.database, range, allUsers),
    oracle: ({ oracle, dimension }, range) => oracleUserDaily(oracle, range, dimension),
  },
};
