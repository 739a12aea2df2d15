import type {
  MonthRange,
  ProstheticMonthlyRow,
  UserDailyRow,
  UserMonthlyRow,
} from "../../clickhouse/marts/index.js";

/** Every mart row of one user over the months any mart holds state for them. */
export interface UserHistory {
  /** null when the marts hold nothing for the user. */
  range: MonthRange | null;
  months: UserMonthlyRow[];
  devices: ProstheticMonthlyRow[];
  days: UserDailyRow[];
}

export const monthOf = (reportDate: string): string => reportDate.slice(0, 7);
