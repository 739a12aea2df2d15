import { spawn } from "node:child_process";
import { mkdirSync, openSync, readFileSync, rmSync, writeFileSync, existsSync, closeSync } from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

/** Detached background processes with pid files; they outlive the CLI that started them. */
export interface Daemon {
  name: string;
  pidFile: string;
  logFile: string;
}

export function readPid(daemon: Daemon): number | undefined {
  if (!existsSync(daemon.pidFile)) return undefined;
  const pid = Number(readFileSync(daemon.pidFile, "utf8").trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function runningPid(daemon: Daemon): number | undefined {
  const pid = readPid(daemon);
  return pid !== undefined && isAlive(pid) ? pid : undefined;
}

export function startDaemon(
  daemon: Daemon,
  command: string,
  args: string[],
  options: { cwd?: string; extraEnv?: Record<string, string> } = {},
): number {
  mkdirSync(path.dirname(daemon.pidFile), { recursive: true });
  mkdirSync(path.dirname(daemon.logFile), { recursive: true });
  const out = openSync(daemon.logFile, "a");
  const child = spawn(command, args, {
    cwd: options.cwd,
    // The child inherits our environment (PATH, JAVA_HOME...) plus the component's own secrets.
    env: { ...process.env, ...options.extraEnv },
    detached: true,
    stdio: ["ignore", out, out],
  });
  closeSync(out);
  if (child.pid === undefined) throw new Error(`could not spawn ${command}`);
  child.unref();
  writeFileSync(daemon.pidFile, `${child.pid}\n`);
  return child.pid;
}

/** Points the pid file at another process, e.g. the server a launcher script started. */
export function adoptPid(daemon: Daemon, pid: number): void {
  writeFileSync(daemon.pidFile, `${pid}\n`);
}

/** Runs a command to completion with its output in `logPath` (replaced); resolves to its exit code. */
export function runToLog(
  command: string,
  args: string[],
  extraEnv: Record<string, string>,
  logPath: string,
): Promise<number | null> {
  mkdirSync(path.dirname(logPath), { recursive: true });
  const out = openSync(logPath, "w");
  const child = spawn(command, args, { env: { ...process.env, ...extraEnv }, stdio: ["ignore", out, out] });
  closeSync(out);
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code) => resolve(code));
  });
}

/** SIGTERM, wait up to `graceMs`, then SIGKILL. Removes the pid file. */
export async function stopDaemon(daemon: Daemon, graceMs = 30_000): Promise<boolean> {
  const pid = runningPid(daemon);
  if (pid === undefined) {
    rmSync(daemon.pidFile, { force: true });
    return false;
  }
  process.kill(pid, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(200);
  if (isAlive(pid)) process.kill(pid, "SIGKILL");
  while (isAlive(pid)) await sleep(100);
  rmSync(daemon.pidFile, { force: true });
  return true;
}

/** SIGKILL (a crash, no shutdown work) and wait until the process is gone. Removes the pid file. */
export async function killDaemon(daemon: Daemon): Promise<boolean> {
  const pid = runningPid(daemon);
  rmSync(daemon.pidFile, { force: true });
  if (pid === undefined) return false;
  process.kill(pid, "SIGKILL");
  while (isAlive(pid)) await sleep(50);
  return true;
}

/** Resident memory of a process in MiB, from /proc (Linux). */
export function residentMiB(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
    return kb === undefined ? undefined : Math.round(Number(kb) / 1024);
  } catch {
    return undefined;
  }
}

/** Direct children of a process, from /proc (Linux); empty when it has none or is gone. */
export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8")
      .trim()
      .split(/\s+/)
      .filter((field) => field !== "")
      .map(Number);
  } catch {
    return [];
  }
}
