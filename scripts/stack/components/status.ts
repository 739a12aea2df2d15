import { residentMiB } from "../processes.js";

export interface ComponentStatus {
  component: string;
  version: string;
  endpoint: string;
  healthy: boolean;
  pid: number | undefined;
  logFile: string;
}

/** One line per component: name, version, endpoint, health, pid, resident memory, log. */
export function formatStatus(rows: ComponentStatus[]): string {
  const lines = rows.map((row) => {
    const rss = row.pid !== undefined ? residentMiB(row.pid) : undefined;
    return [
      row.component.padEnd(10),
      row.version.padEnd(14),
      row.endpoint.padEnd(22),
      (row.healthy ? "healthy" : "down").padEnd(8),
      `pid ${row.pid ?? "-"}`.padEnd(12),
      `${rss === undefined ? "-" : `${rss} MiB`}`.padEnd(10),
      row.logFile,
    ].join(" ");
  });
  return [
    [
      "component".padEnd(10),
      "version".padEnd(14),
      "endpoint".padEnd(22),
      "health".padEnd(8),
      "pid".padEnd(12),
      "rss".padEnd(10),
      "log",
    ].join(" "),
    ...lines,
  ].join("\n");
}
