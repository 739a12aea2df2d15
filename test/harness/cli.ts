import { execFile } from "node:child_process";
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
