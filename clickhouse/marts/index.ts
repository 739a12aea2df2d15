export { queryProsthesisStats, type ProsthesisStatsRow, type StatsGrain } from "./prosthesis-stats.js";
export { queryProstheticMonthlyMetrics, type ProstheticMonthlyRow } from "./prosthetic-monthly.js";
export { addMonths, assertMonth, rangeParams, type MonthRange } from "./range.js";
export { queryUserDailyReports, type UserDailyRow } from "./user-daily.js";
export { queryUserMonthlyMetrics, type UserMonthlyRow } from "./user-monthly.js";
export type { DeviceFilter } from "./filters.js";
