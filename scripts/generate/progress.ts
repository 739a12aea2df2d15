import cliProgress from "cli-progress";

export interface TableProgress {
  update(rows: number): void;
  done(rows: number): void;
}

export interface ProgressBoard {
  /** A bar for one table; `expectedRows` is an estimate for telemetry, the bar adapts. */
  table(name: string, expectedRows: number): TableProgress;
  /** Prints a line above the bars (plain `log` when there are no bars). */
  log(line: string): void;
  stop(): void;
}

/**
 * One cli-progress bar per table on stderr, so stdout stays clean. Bars only make sense on a
 * terminal; piped into a file they would be noise, so there the per-table log lines suffice.
 */
export function progressBoard(enabled: boolean, log: (line: string) => void): ProgressBoard {
  if (!enabled || !process.stderr.isTTY) {
    return { table: () => ({ update: () => undefined, done: () => undefined }), log, stop: () => undefined };
  }
  const bars = new cliProgress.MultiBar(
    {
      format: "{table} [{bar}] {percentage}% | {value}/{total} rows | {duration_formatted}",
      hideCursor: true,
      clearOnComplete: false,
      stream: process.stderr,
    },
    cliProgress.Presets.shades_classic,
  );
  return {
    table(name, expectedRows) {
      const bar = bars.create(Math.max(1, Math.round(expectedRows)), 0, { table: name.padEnd(19) });
      return {
        update(rows) {
          if (rows > bar.getTotal()) bar.setTotal(rows);
          bar.update(rows);
        },
        done(rows) {
          bar.setTotal(Math.max(1, rows));
          bar.update(rows);
          bar.stop();
        },
      };
    },
    log: (line) => bars.log(`${line}\n`),
    stop: () => bars.stop(),
  };
}
