import type { ProsthesisStatsRow, UserDailyRow } from "../../clickhouse/marts/index.js";
import type { DailyReport } from "../schemas/reports.js";

const emptyDay: DailyReport["summary"] = {
  prostheses_count: 0,
  total_movements: 0,
  successful_movements: 0,
  movement_success_rate: 0,
  avg_response_time_ms: 0,
  avg_battery_level: 0,
  total_errors: 0,
  uptime_hours: 0,
  usage_hours: 0,
  power_on_count: 0,
  warning_count: 0,
  error_event_count: 0,
  critical_error_count: 0,
};

const hourIso = (day: string, hour: number) => `${day}T${String(hour).padStart(2, "0")}:00:00Z`;

/**
 * Seed 04's daily report: the user_daily_reports row of the day as the summary, and
 * user_prosthesis_stats at hour grain as hourly_data (one entry per hour and prosthesis). A day
 * without data is an empty report.
 */
export function dailyReport(input: {
  userId: number;
  date: string;
  day: UserDailyRow | undefined;
  hours: readonly ProsthesisStatsRow[];
  freshness: { dataAsOf: string | null; lagSeconds: number | null };
}): DailyReport {
  const summary: DailyReport["summary"] = input.day
    ? {
        prostheses_count: input.day.prostheses_count,
        total_movements: input.day.total_movements,
        successful_movements: input.day.successful_movements,
        movement_success_rate: input.day.movement_success_rate,
        avg_response_time_ms: input.day.avg_response_time_ms,
        avg_battery_level: input.day.avg_battery_level,
        total_errors: input.day.total_errors,
        uptime_hours: input.day.uptime_hours,
        usage_hours: input.day.usage_hours,
        power_on_count: input.day.power_on_count,
        warning_count: input.day.warning_count,
        error_event_count: input.day.error_event_count,
        critical_error_count: input.day.critical_error_count,
      }
    : emptyDay;
  const hourly = input.hours
    .filter((h) => h.report_date === input.date && h.report_hour !== null)
    .map((h) => ({
      hour: hourIso(h.report_date, h.report_hour as number),
      prosthesis_id: h.prosthesis_id,
      prosthesis_model: h.prosthesis_model,
      movements_count: h.movements_count,
      successful_movements: h.successful_movements,
      avg_response_time: h.avg_response_time,
      battery_level: h.avg_battery_level,
      error_count: h.error_count,
    }))
    .sort((a, b) => a.hour.localeCompare(b.hour) || a.prosthesis_id - b.prosthesis_id);
  return {
    date: input.date,
    user_id: input.userId,
    summary,
    hourly_data: hourly,
    data_as_of: input.freshness.dataAsOf,
    lag_seconds: input.freshness.lagSeconds,
  };
}
