import { spawn, type ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import { DEMO_USERS } from "../keycloak/realm.js";
import { passwordGrant } from "../test/harness/keycloak.js";
import { parseExposition, sampleValue } from "../test/harness/prometheus-text.js";
import { ensureScaleData, startAllInOne, startSimulate } from "./api-scale.js";
import { benchCommand, benchLever } from "./config.js";
import { appendResults, machineLine } from "./results-file.js";

/**
 * `npm run bench:api -- --url http://127.0.0.1:18000 --token <jwt> [--user 1 --month 2024-02
 * --date 2024-02-02] [--staff] [--connections 10] [--duration 10]`: latency (p50, p99) and requests/s
 * of the month report and the daily report of a running API, with autocannon. `--fixture` starts
 * bench/api-fixture.ts (the small hand-made data set) as a child process and measures that instead.
 * `--scale 833 --telemetry-density 0.003 [--rate 1000] [--compare-uncached]`: the all-in-one process
 * (`npm start`) over a ~10k-user data set of its own (bench/api-scale.ts), measured idle and while
 * `simulate --rate` streams, with the report cache on (and off, side by side).
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
    scale: { type: "string" },
    "telemetry-density": { type: "string", default: "0.003" },
    rate: { type: "string", default: "1000" },
    "compare-uncached": { type: "boolean", default: false },
    "api-port": { type: "string", default: "18100" },
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

if (values.scale) {
  await runAtScale();
  process.exit(0);
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

const file = appendResults("api", "API benchmarks", `Run ${new Date().toISOString()}`, [
  `- machine: ${machineLine()}`,
  `- target: ${values.fixture ? "bench/api-fixture.ts (hand-made fixture: 3 users, 3 prostheses, ~40 rows; embedded ClickHouse; API and autocannon on the same 2 cores)" : target.url}`,
  `- autocannon: ${connections} connections, ${duration} s per scenario${values.note ? `; ${values.note}` : ""}`,
  "",
  "| scenario | p50 ms | p99 ms | req/s | requests | non-2xx | errors |",
  "|---|---|---|---|---|---|---|",
  ...rows,
]);
log(`results appended to ${path.relative(repoRoot, file)}`);

interface Scenario {
  name: string;
  /** The path of the n-th request. */
  path: (n: number) => string;
}

interface Measured {
  phase: string;
  scenario: string;
  p50: number;
  p99: number;
  rps: number;
  total: number;
  non2xx: number;
  errors: number;
  /** The serving process's event-loop delay over the scenario (prom-client's histogram), ms. */
  loopP99?: number;
  loopMax?: number;
}

/**
 * The event-loop delay of the process behind `url` since its previous scrape: prom-client's
 * monitorEventLoopDelay histogram, reset at every scrape of GET /metrics. Undefined without metrics.
 */
async function eventLoopDelay(url: string): Promise<{ p99: number; max: number } | undefined> {
  const response = await fetch(`${url}/metrics`).catch(() => undefined);
  if (!response?.ok) return undefined;
  const samples = parseExposition(await response.text());
  const p99 = sampleValue(samples, "bionicpro_nodejs_eventloop_lag_p99_seconds");
  const max = sampleValue(samples, "bionicpro_nodejs_eventloop_lag_max_seconds");
  return p99 === undefined || max === undefined
    ? undefined
    : { p99: Math.round(p99 * 1000), max: Math.round(max * 1000) };
}

/** One autocannon run; each request's path from `scenario.path(n)`, a fresh token per scenario. */
async function measure(url: string, scenario: Scenario, phase: string): Promise<Measured> {
  // The demo support user reads any user's reports (a token renewed when < 30 s of it is left).
  const token = await passwordGrant(DEMO_USERS.support1.username, DEMO_USERS.support1.password);
  const headers = { authorization: `Bearer ${token}` };
  const probe = await fetch(`${url}${scenario.path(0)}`, { headers });
  if (probe.status !== 200)
    throw new Error(`${scenario.path(0)} answered ${probe.status}: ${await probe.text()}`);
  let n = 0;
  await eventLoopDelay(url);
  const result = await autocannon({
    url,
    headers,
    connections: Number(values.connections),
    duration: Number(values.duration),
    requests: [
      {
        method: "GET",
        setupRequest: (request) => ({ ...request, path: scenario.path((n += 1)) }),
      },
    ],
  });
  const m: Measured = {
    phase,
    scenario: scenario.name,
    p50: result.latency.p50,
    p99: result.latency.p99,
    rps: result.requests.average,
    total: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
  const loop = await eventLoopDelay(url);
  m.loopP99 = loop?.p99;
  m.loopMax = loop?.max;
  log(
    `${phase} | ${m.scenario} | p50 ${m.p50} ms | p99 ${m.p99} ms | ${m.rps} req/s | non-2xx ${m.non2xx} | event loop p99 ${m.loopP99} ms, max ${m.loopMax} ms`,
  );
  return m;
}

async function runAtScale(): Promise<void> {
  const options = {
    scale: Number(values.scale),
    telemetryDensity: Number(values["telemetry-density"]),
    apiPort: Number(values["api-port"]),
    cache: true,
    log,
  };
  const rate = Number(values.rate);
  const users = await ensureScaleData(options);
  const month = values.month === "2024-02" ? "2026-10" : values.month;
  const date = values.date === "2024-02-02" ? "2026-10-15" : values.date;
  const hot = Math.min(1000, users);
  const scenarios: Scenario[] = [
    { name: "month report, one user", path: () => `/reports/user/1?month=${month}` },
    {
      name: `month report, users 1..${hot} in turn`,
      path: (n) => `/reports/user/${(n % hot) + 1}?month=${month}`,
    },
    {
      name: `month report, users 1..${users} in turn (first read of each)`,
      path: (n) => `/reports/user/${(n % users) + 1}?month=${month}`,
    },
    {
      name: `daily report, users 1..${hot} in turn`,
      path: (n) => `/api/reports/${date}?user_id=${(n % hot) + 1}`,
    },
  ];
  const results: Measured[] = [];
  const rss: string[] = [];
  // BENCH_LEVER: each variant once with the setting at a, then at b (bench/config.ts).
  const lever = benchLever();
  const settingsList: Record<string, string>[] = lever
    ? lever.values.map((value) => ({ [lever.name]: value }))
    : [{}];
  for (const cache of values["compare-uncached"] ? [true, false] : [true])
    for (const settings of settingsList) {
      const app = await startAllInOne({ ...options, cache, settings }, users);
      const tag = [
        `cache ${cache ? "on" : "off"}`,
        ...Object.entries(settings).map(([k, v]) => `${k}=${v}`),
      ].join(", ");
      try {
        for (const s of scenarios) results.push(await measure(app.url, s, `${tag}, idle`));
        log(`simulate --rate ${rate} on the data set; measuring after 15 s`);
        const sim = startSimulate(app.env, rate);
        try {
          await new Promise((r) => setTimeout(r, 15_000));
          for (const s of scenarios) results.push(await measure(app.url, s, `${tag}, ingest ${rate}/s`));
        } finally {
          await sim.stop();
        }
        rss.push(`${tag}: ${app.peakRssMiB()} MiB`);
      } finally {
        await app.stop();
      }
    }
  const now = new Date();
  const file = appendResults("api", "API benchmarks", `Run ${now.toISOString()} (scale ${values.scale})`, [
    `- command: \`${benchCommand("bench:api", process.argv.slice(2))}\``,
    `- machine: ${machineLine()}; API, consumers, simulate, the native stack and autocannon share the cores`,
    `- data: generate --scale ${values.scale} --telemetry-density ${values["telemetry-density"]} (${users} users), drained by \`npm start\` (consumers + API in one process, embedded ClickHouse); month ${month}, day ${date}; support1's token (any user)`,
    `- autocannon: ${values.connections} connections, ${values.duration} s per scenario; ingest = \`simulate --rate ${rate}\` running (started 15 s before)`,
    `- peak RSS of the all-in-one process: ${rss.join("; ")}`,
    "",
    "| phase | scenario | p50 ms | p99 ms | req/s | requests | non-2xx | errors | event loop p99 / max ms |",
    "|---|---|---|---|---|---|---|---|---|",
    ...results.map(
      (m) =>
        `| ${m.phase} | ${m.scenario} | ${m.p50} | ${m.p99} | ${m.rps} | ${m.total} | ${m.non2xx} | ${m.errors} | ${m.loopP99 ?? "-"} / ${m.loopMax ?? "-"} |`,
    ),
  ]);
  writeFileSync(
    file.replace(/\.md$/, `-${now.toISOString().replace(/[:.]/g, "-")}.json`),
    JSON.stringify(
      { at: now.toISOString(), argv: process.argv.slice(2), users, month, date, rss, results },
      null,
      2,
    ),
  );
  log(`results appended to ${path.relative(repoRoot, file)}`);
}
