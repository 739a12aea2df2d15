export { allUsers, onlyProsthetics, onlyUsers, type DeviceSelection, type UserSelection } from "./filters.js";
export { queryProsthesisStats, type ProsthesisStatsRow, type StatsGrain } from "./prosthesis-stats.js";
export { queryProstheticMonthlyMetrics, type ProstheticMonthlyRow } from "./prosthetic-monthly.js";
export {
  addDays,
  addMonths,
  assertDay,
  assertMonth,
  dayRangeParams,
  periodParams,
  rangeParams,
  type DayRange,
  type MonthRange,
} from "./range.js";
export { queryUserDailyReports, type UserDailyRow } from "./user-daily.js";
export { queryUserMonthlyMetrics, type UserMonthlyRow } from "./user-monthly.js";
export { findReportUser, queryDataMonths, queryUserDevices, type ReportUser } from "./users.js";
