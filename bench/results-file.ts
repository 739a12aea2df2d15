import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { repoRoot } from "../scripts/config.js";

/** The host a figure was measured on: cores, model, memory, load, Node. */
export function machineLine(): string {
  const cpus = os.cpus();
  const load = os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(" ");
  return `${cpus.length} × ${cpus[0]?.model ?? "cpu"}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, load average ${load}, node ${process.version}`;
}

/**
 * Appends one run's section (`## <heading>` and its lines) to bench/results/<kind>-<date>.md,
 * created with `# <title>, <date>` by the day's first run. Returns the file's path.
 */
export function appendResults(
  kind: string,
  title: string,
  heading: string,
  lines: readonly string[],
  now: Date = new Date(),
): string {
  const day = now.toISOString().slice(0, 10);
  const file = path.join(repoRoot, "bench", "results", `${kind}-${day}.md`);
  mkdirSync(path.dirname(file), { recursive: true });
  if (!existsSync(file)) writeFileSync(file, `# ${title}, ${day}\n`);
  appendFileSync(file, ["", `## ${heading}`, "", ...lines, ""].join("\n"));
  return file;
}

/**
 * Writes one run's figures as bench/results/<kind>-<timestamp>.json, beside the day's Markdown,
 * with the machine and the time. Returns the file's path.
 */
export function writeResultsJson(
  kind: string,
  data: Record<string, unknown>,
  now: Date = new Date(),
): string {
  const file = path.join(
    repoRoot,
    "bench",
    "results",
    `${kind}-${now.toISOString().replace(/[:.]/g, "-")}.json`,
  );
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(
    file,
    `${JSON.stringify({ at: now.toISOString(), machine: machineLine(), ...data }, null, 2)}\n`,
  );
  return file;
}

/** The installed version of an npm dependency (from its package.json under node_modules). */
export function packageVersion(name: string): string {
  const manifest = path.join(repoRoot, "node_modules", name, "package.json");
  return (JSON.parse(readFileSync(manifest, "utf8")) as { version: string }).version;
}
