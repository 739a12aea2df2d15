import { execFile, spawn } from "node:child_process";
import path from "node:path";
import { repoRoot } from "../../scripts/config.js";

export interface CliResult {
  /** Exit code (-1 when the process was killed). */
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the operator CLI (scripts/cli.ts) as a child process, as an operator would, with the test
 * process' environment plus `env`.
 */
export function runCli(
  args: readonly string[],
  env: Record<string, string>,
  timeoutMs = 60_000,
): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", "tsx", path.join(repoRoot, "scripts", "cli.ts"), ...args],
      { cwd: repoRoot, env: { ...process.env, ...env }, timeout: timeoutMs },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

export interface CliProcess {
  readonly pid: number;
  /** What the process has written so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves when the process has exited, whatever the reason. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Set once the process has exited. */
  readonly exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  /** Sends a signal if the process still runs. */
  signal(signal: NodeJS.Signals): boolean;
}

/**
 * The operator CLI as a running child process (node with the tsx loader, no npx/npm wrapper: a
 * signal reaches the CLI itself), for tests that watch its output while it runs or kill it.
 */
export function spawnCli(args: readonly string[], env: Record<string, string>): CliProcess {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", path.join(repoRoot, "scripts", "cli.ts"), ...args],
    {
      cwd: repoRoot,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  if (child.pid === undefined) throw new Error("the CLI process did not start");
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on("data", (b: Buffer) => out.push(b));
  child.stderr.on("data", (b: Buffer) => err.push(b));
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("close", (code, signal) => {
      exit = { code, signal };
      resolve(exit);
    }),
  );
  return {
    pid: child.pid,
    stdout: () => Buffer.concat(out).toString("utf8"),
    stderr: () => Buffer.concat(err).toString("utf8"),
    exited,
    get exit() {
      return exit;
    },
    signal: (signal) => exit === undefined && child.kill(signal),
  };
}
