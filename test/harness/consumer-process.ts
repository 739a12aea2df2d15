import { spawn } from "node:child_process";
import { closeSync, fstatSync, openSync, readFileSync, writeSync } from "node:fs";
import { repoRoot } from "../../scripts/config.js";

/**
 * The consumer (consumers/src/main.ts) as a real child process, for tests that crash it. Node is
 * spawned directly with the tsx loader (no npx/npm wrapper), so the pid a test signals is the
 * consumer itself: SIGKILL hits the process that holds the ClickHouse directory.
 */
export interface ConsumerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ConsumerProcess {
  readonly pid: number;
  /** 1-based number of this start within the test (for log lines). */
  readonly incarnation: number;
  readonly startedAt: number;
  /** Resolves when the process has exited, whatever the reason. */
  readonly exited: Promise<ConsumerExit>;
  /** Set once the process has exited. */
  exit: ConsumerExit | undefined;
  /** Sends a signal if the process still runs; true when sent. */
  signal(signal: NodeJS.Signals): boolean;
  /** Command line of the pid as the kernel sees it (Linux), to check it really is the consumer. */
  commandLine(): string;
  /** What this start has written to the log file so far. */
  output(): string;
}

export interface SpawnConsumerOptions {
  /** Added to (and overriding) the test process' environment. */
  env: Record<string, string>;
  /** stdout and stderr are appended here, straight from the child (no pipe through the test). */
  logFile: string;
  incarnation: number;
  /** The TypeScript entry to run. @default CONSUMER_ENTRY */
  entry?: string;
}

export const CONSUMER_ENTRY = "consumers/src/main.ts";
/** `npm start` without the npm wrapper: the pid a test signals is the process itself. */
export const START_ENTRY = "scripts/start.ts";

export function spawnConsumer(options: SpawnConsumerOptions): ConsumerProcess {
  const entry = options.entry ?? CONSUMER_ENTRY;
  const fd = openSync(options.logFile, "a");
  writeSync(fd, `\n===== ${entry} #${options.incarnation} starting at ${new Date().toISOString()} =====\n`);
  const logOffset = fstatSync(fd).size;
  const child = spawn(process.execPath, ["--import", "tsx", entry], {
    cwd: repoRoot,
    env: { ...process.env, ...options.env },
    stdio: ["ignore", fd, fd],
  });
  closeSync(fd);
  if (child.pid === undefined) throw new Error("the consumer process did not start");
  const pid = child.pid;
  const proc: ConsumerProcess = {
    pid,
    incarnation: options.incarnation,
    startedAt: Date.now(),
    exit: undefined,
    exited: new Promise<ConsumerExit>((resolve) => {
      child.once("exit", (code, signal) => {
        proc.exit = { code, signal };
        resolve(proc.exit);
      });
    }),
    signal(signal) {
      if (proc.exit) return false;
      return child.kill(signal);
    },
    commandLine() {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim();
      } catch {
        return "";
      }
    },
    output() {
      return readFileSync(options.logFile).subarray(logOffset).toString("utf8");
    },
  };
  return proc;
}

/** Waits for the exit, up to `timeoutMs`; undefined when it is still running then. */
export async function waitForExit(
  proc: ConsumerProcess,
  timeoutMs: number,
): Promise<ConsumerExit | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), timeoutMs);
  });
  try {
    return await Promise.race([proc.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** SIGKILL and wait until the kernel has reaped it (the ClickHouse directory is free again). */
export async function killConsumer(proc: ConsumerProcess): Promise<ConsumerExit> {
  proc.signal("SIGKILL");
  const exit = await waitForExit(proc, 30_000);
  if (!exit) throw new Error(`consumer pid ${proc.pid} did not die within 30 s of SIGKILL`);
  return exit;
}

/** SIGTERM (clean stop), escalating to SIGKILL after `graceMs`. Returns how it ended. */
export async function stopConsumer(proc: ConsumerProcess, graceMs = 60_000): Promise<ConsumerExit> {
  proc.signal("SIGTERM");
  const exit = await waitForExit(proc, graceMs);
  if (exit) return exit;
  return killConsumer(proc);
}
