import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { StackError } from "./errors.js";

/** Host tools the native stack needs, found once, with an install hint when missing. */
export interface Jdk {
  java: string;
  major: number;
}

function javaMajor(java: string): number | undefined {
  const result = spawnSync(java, ["-version"], { encoding: "utf8" });
  if (result.status !== 0) return undefined;
  const match = /version "(\d+)(?:\.(\d+))?/.exec(result.stderr);
  if (!match?.[1]) return undefined;
  const major = Number(match[1]);
  return major === 1 ? Number(match[2]) : major;
}

function jdkCandidates(preferredHome: string | undefined): string[] {
  const candidates: string[] = [];
  if (preferredHome) candidates.push(path.join(preferredHome, "bin", "java"));
  const jvmRoot = "/usr/lib/jvm";
  if (existsSync(jvmRoot)) {
    for (const entry of readdirSync(jvmRoot).sort())
      candidates.push(path.join(jvmRoot, entry, "bin", "java"));
  }
  candidates.push("java");
  return candidates;
}

/** The lowest JDK whose major version is at least `minMajor` (older LTS first: fewer surprises). */
export function findJdk(minMajor: number, preferredHome?: string): Jdk {
  const found: Jdk[] = [];
  for (const java of jdkCandidates(preferredHome)) {
    if (java !== "java" && !existsSync(java)) continue;
    const major = javaMajor(java);
    if (major !== undefined && major >= minMajor) {
      if (preferredHome && java.startsWith(preferredHome)) return { java, major };
      found.push({ java, major });
    }
  }
  found.sort((a, b) => a.major - b.major);
  const best = found[0];
  if (!best) {
    throw new StackError(
      "STACK_MISSING_DEPENDENCY",
      `no Java ${minMajor}+ found (looked at /usr/lib/jvm and PATH). Install one, e.g. ` +
        `\`apt-get install openjdk-${Math.max(minMajor, 17)}-jdk-headless\` or Temurin ${minMajor}+, ` +
        `or point BIONICPRO_JAVA21_HOME at it`,
      { component: "java" },
    );
  }
  return best;
}

export function requireCommand(command: string, installHint: string): string {
  try {
    return execFileSync("sh", ["-c", `command -v ${command}`], { encoding: "utf8" }).trim();
  } catch {
    throw new StackError("STACK_MISSING_DEPENDENCY", `\`${command}\` not found: ${installHint}`, {
      component: command,
    });
  }
}

/** PostgreSQL server binaries (initdb, pg_ctl) from Debian's layout, newest major first. */
export function findPostgresBin(): string {
  const root = "/usr/lib/postgresql";
  const majors = existsSync(root)
    ? readdirSync(root)
        .filter((d) => existsSync(path.join(root, d, "bin", "initdb")))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  const major = majors[0];
  if (!major) {
    throw new StackError(
      "STACK_MISSING_DEPENDENCY",
      "PostgreSQL server binaries not found under /usr/lib/postgresql: `apt-get install postgresql` " +
        "(`npm run stack -- up` installs it as root: see scripts/stack/host-packages.sh)",
      { component: "postgres" },
    );
  }
  return path.join(root, major, "bin");
}

/**
 * Installs the Debian packages the stack needs when missing (scripts/stack/host-packages.sh: as
 * root, or with `sudo -n`); otherwise fails saying which command to run.
 */
export function ensureHostPackages(log: (line: string) => void): void {
  const script = path.join(path.dirname(fileURLToPath(import.meta.url)), "host-packages.sh");
  const result = spawnSync("bash", [script], { encoding: "utf8" });
  for (const line of `${result.stdout}${result.stderr}`.split("\n").filter(Boolean)) log(line);
  if (result.status !== 0) {
    throw new StackError(
      "STACK_MISSING_DEPENDENCY",
      `host packages missing and not installable by this user: run \`sudo bash ${script}\`, then try again`,
      { component: "host" },
    );
  }
}
