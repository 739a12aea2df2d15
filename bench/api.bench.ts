import { spawn, type ChildProcess } from "node:child_process";
import { appendFileSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import autocannon from "autocannon";

/**
 * `npm run bench:api -- --url http://127.0.0.1:18000 --token <jwt> [--user 1 --month 2024-02
 * --date 2024-02-02] [--staff] [--connections 10] [--duration 10]`: latency (p50, p99) and requests/s
 * of the month report and the daily report of a running API, with autocannon. `--fixture` starts
 * bench/api-fixture.ts (the small hand-made data set) as a child process and measures that instead.
 * Results are appended to bench/results/api-<date>.md.
 */
const { values } = parseArgs({
  options: {
    url: { type: "string" },
    token: { type: "string" },
    user: { type: "string", default: "1" },
    month: { type: "string", default: "2024-02" },
    date: { type: "string", default: "2024-02-02" },
    staff: { type: "boolean", default: false },
    connections: { type: "string", default: "10" },
    duration: { type: "string", default: "10" },
    fixture: { type: "boolean", default: false },
    note: { type: "string", default: "" },
  },
});
const log = (line: string): void => console.log(`[bench:api] ${line}`);
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

interface Target {
  url: string;
  token: string;
  user: string;
  month: string;
  date: string;
}

async function startFixture(): Promise<{ child: ChildProcess; target: Target }> {
  const child = spawn(process.execPath, ["--import", "tsx", path.join(repoRoot, "bench/api-fixture.ts")], {
    cwd: repoRoot,
    stdio: ["ignore", "pipe", "inherit"],
  });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  for await (const line of lines) {
    if (line.startsWith("{")) return { child, target: JSON.parse(line) as Target };
  }
  throw new Error("bench/api-fixture.ts exited before printing its URL");
}

let fixture: ChildProcess | null = null;
let target: Target;
if (values.fixture) {
  log("starting bench/api-fixture.ts (hand-made fixture, embedded ClickHouse, local JWKS)");
  const started = await startFixture();
  fixture = started.child;
  target = started.target;
} else {
  if (!values.url || !values.token) {
    console.error(
      "usage: npm run bench:api -- --url <api url> --token <access token> [--user N --month YYYY-MM --date YYYY-MM-DD] | --fixture",
    );
    process.exit(2);
  }
  target = {
    url: values.url,
    token: values.token,
    user: values.user,
    month: values.month,
    date: values.date,
  };
}

const named = values.staff ? `?user_id=${target.user}` : "";
const scenarios = [
  { name: "month report", path: `/reports/user/${target.user}?month=${target.month}` },
  { name: "daily report", path: `/api/reports/${target.date}${named}` },
];
const headers = { authorization: `Bearer ${target.token}` };
const connections = Number(values.connections);
const duration = Number(values.duration);

const rows: string[] = [];
try {
  for (const scenario of scenarios) {
    const probe = await fetch(`${target.url}${scenario.path}`, { headers });
    if (probe.status !== 200)
      throw new Error(`${scenario.path} answered ${probe.status}: ${await probe.text()}`);
    log(`${scenario.name}: ${connections} connections for ${duration} s`);
    const result = await autocannon({ url: `${target.url}${scenario.path}`, headers, connections, duration });
    const line =
      `| ${scenario.name} \`GET ${scenario.path}\` | ${result.latency.p50} | ${result.latency.p99} | ` +
      `${result.requests.average} | ${result.requests.total} | ${result.non2xx} | ${result.errors + result.timeouts} |`;
    log(line);
    rows.push(line);
  }
} finally {
  fixture?.kill("SIGTERM");
}

const now = new Date();
const file = path.join(repoRoot, "bench", "results", `api-${now.toISOString().slice(0, 10)}.md`);
mkdirSync(path.dirname(file), { recursive: true });
if (!existsSync(file)) writeFileSync(file, `# API benchmarks, ${now.toISOString().slice(0, 10)}\n`);
const cpus = os.cpus();
appendFileSync(
  file,
  [
    "",
    `## Run ${now.toISOString()}`,
    "",
    `- machine: ${cpus.length} × ${cpus[0]?.model ?? "cpu"}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, load average ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(" ")}, node ${process.version}`,
    `- target: ${values.fixture ? "bench/api-fixture.ts (hand-made fixture: 3 users, 3 prostheses, ~40 rows; embedded ClickHouse; API and autocannon on the same 2 cores)" : target.url}`,
    `- autocannon: ${connections} connections, ${duration} s per scenario${values.note ? `; ${values.note}` : ""}`,
    "",
    "| scenario | p50 ms | p99 ms | req/s | requests | non-2xx | errors |",
    "|---|---|---|---|---|---|---|",
    ...rows,
    "",
  ].join("\n"),
);
log(`results appended to ${path.relative(repoRoot, file)}`);
