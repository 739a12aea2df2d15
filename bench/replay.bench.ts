import { spawn } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import { Kafka, logLevel, type Admin } from "kafkajs";
import { HEARTBEAT_TABLE } from "../connectors/sources.js";
import { createClickHouseClient } from "../clickhouse/client.js";
import { loadConsumerConfig } from "../consumers/src/config.js";
import { abandonReplay } from "../consumers/src/replay/replay.js";
import { sourceTopics } from "../consumers/src/runtime/pipeline.js";
import { DEMO_USERS } from "../keycloak/realm.js";
import { repoRoot } from "../scripts/config.js";
import { passwordGrant } from "../test/harness/keycloak.js";
import { ensureScaleData, startAllInOne, type AllInOne } from "./api-scale.js";
import { positiveOption, scaleEnv } from "./config.js";
import { appendResults, machineLine } from "./results-file.js";

/**
 * `npm run bench:replay [-- --scale 833 --telemetry-density 0.003] [--connections 2] [--rate 20]
 * [--idle 30] [--month 2026-10] [--timeout 3600] [--reconcile-after] [--note text]`: replay throughput inside the
 * all-in-one process (`npm start`, consumers + API on one chDB data dir) over the ~10k-user data set
 * of bench:api (bench/api-scale.ts: `benchapi_*`, generated if missing, drained first), and the
 * reports API's latency meanwhile. Two load generators run together, idle for `--idle` s and then
 * from SIGUSR2 until the replay has swapped: the month report of one user at `--rate` req/s on one
 * connection (the report cache's path; the swap clears the cache) and the month report of users
 * 1..N in turn on `--connections` connections (each a first read: the marts' queries, which share
 * the engine with the replay). Progress and end are read from Kafka: the replay's consumer group
 * (`<group>-replay-<id>`) commits its offsets as it applies and is deleted after the swap (the
 * replay's own reconcile of the shadow gates it). No swap within `--timeout` s: what was measured is
 * written, marked unfinished, and the shadow left is dropped by the next run before it starts (a
 * SIGUSR2 would resume it). `--reconcile-after`: the process stopped, `reconcile` checks the swapped
 * marts against PostgreSQL once more. Results are appended to bench/results/replay-<date>.md.
 * At ~10k users a run takes ~35 min on a loaded 2-core host, the shadow's reconcile 17 of them.
 */
const { values } = parseArgs({
  options: {
    scale: { type: "string", default: "833" },
    "telemetry-density": { type: "string", default: "0.003" },
    connections: { type: "string", default: "2" },
    rate: { type: "string", default: "20" },
    idle: { type: "string", default: "30" },
    month: { type: "string", default: "2026-10" },
    timeout: { type: "string", default: "3600" },
    "api-port": { type: "string", default: "18130" },
    note: { type: "string", default: "" },
    "reconcile-after": { type: "boolean", default: false },
  },
});
const log = (line: string): void => console.log(`[bench:replay] ${line}`);

const positive = (name: string, raw: string): number => positiveOption("bench:replay", name, raw);
const connections = positive("connections", values.connections);
const rate = positive("rate", values.rate);
const idleS = positive("idle", values.idle);
const timeoutS = positive("timeout", values.timeout);
if (!/^\d{4}-\d{2}$/.test(values.month)) throw new Error(`--month must be YYYY-MM, got "${values.month}"`);

interface Scenario {
  name: string;
  path: (n: number) => string;
  options: Partial<autocannon.Options>;
}

interface Latency {
  phase: string;
  scenario: string;
  p50: number;
  p99: number;
  max: number;
  rps: number;
  total: number;
  non2xx: number;
  errors: number;
}

/** The demo support user reads any user's reports; its token is renewed while the load runs. */
async function tokenKeeper(): Promise<{ current: () => string; stop: () => void }> {
  const user = DEMO_USERS.support1;
  let token = await passwordGrant(user.username, user.password);
  const timer = setInterval(() => {
    void passwordGrant(user.username, user.password).then(
      (t) => (token = t),
      (error: unknown) => log(`token renewal failed: ${(error as Error).message}`),
    );
  }, 15_000);
  return { current: () => token, stop: () => clearInterval(timer) };
}

/** Runs every scenario's autocannon together until `until` resolves; one latency row per scenario. */
async function underLoad<T>(
  url: string,
  scenarios: readonly Scenario[],
  token: () => string,
  phase: string,
  until: () => Promise<T>,
): Promise<{ rows: Latency[]; value: T }> {
  for (const s of scenarios) {
    const probe = await fetch(`${url}${s.path(0)}`, { headers: { authorization: `Bearer ${token()}` } });
    if (probe.status !== 200) throw new Error(`${s.path(0)} answered ${probe.status}: ${await probe.text()}`);
  }
  const runs = scenarios.map((s) => {
    let instance: autocannon.Instance | undefined;
    const result = new Promise<autocannon.Result>((resolve, reject) => {
      instance = autocannon(
        {
          url,
          duration: timeoutS + 600,
          timeout: 30,
          ...s.options,
          requests: [
            {
              method: "GET",
              setupRequest: (request) => ({
                ...request,
                path: s.path(counter.next()),
                headers: { ...request.headers, authorization: `Bearer ${token()}` },
              }),
            },
          ],
        },
        (error: unknown, r) => (error ? reject(error as Error) : resolve(r)),
      );
    });
    return { scenario: s, stop: () => instance?.stop(), result };
  });
  let value: T;
  try {
    value = await until();
  } finally {
    for (const run of runs) run.stop();
  }
  const rows: Latency[] = [];
  for (const run of runs) {
    const r = await run.result;
    const row: Latency = {
      phase,
      scenario: run.scenario.name,
      p50: r.latency.p50,
      p99: r.latency.p99,
      max: r.latency.max,
      rps: r.requests.average,
      total: r.requests.total,
      non2xx: r.non2xx,
      errors: r.errors + r.timeouts,
    };
    log(
      `${phase} | ${row.scenario} | p50 ${row.p50} ms | p99 ${row.p99} ms | max ${row.max} ms | ${row.total} requests | non-2xx ${row.non2xx} | errors ${row.errors}`,
    );
    rows.push(row);
  }
  return { rows, value };
}

/** Shared by the scenarios' requests: user n of the "in turn" scenario is read once over the whole run. */
const counter = (() => {
  let n = 0;
  return { next: () => (n += 1) };
})();

interface Span {
  topic: string;
  partition: number;
  low: number;
  high: number;
}

/** The data topics' offsets now: what a replay from earliest started now rebuilds (heartbeats are not replayed). */
async function dataSpans(admin: Admin, topics: readonly string[]): Promise<Span[]> {
  const spans: Span[] = [];
  for (const topic of topics) {
    for (const p of await admin.fetchTopicOffsets(topic))
      spans.push({ topic, partition: p.partition, low: Number(p.low), high: Number(p.high) });
  }
  return spans;
}

interface ReplayWatch {
  group: string;
  /** SIGUSR2 -> the replay group committed every data partition up to its end offset. */
  bulkMs: number;
  /** SIGUSR2 -> the replay group deleted (after reconcile, catch-up, exchange, shadow dropped). */
  totalMs: number;
  /** False when `--timeout` passed before the swap (the figures so far). */
  finished: boolean;
  samples: string[];
}

/** Sends SIGUSR2 and follows the replay's consumer group until it is deleted. */
async function watchReplay(
  app: AllInOne,
  admin: Admin,
  liveGroup: string,
  spans: readonly Span[],
  logOffset: number,
): Promise<ReplayWatch> {
  const topics = [...new Set(spans.map((s) => s.topic))];
  const total = spans.reduce((sum, s) => sum + s.high - s.low, 0);
  const low = new Map(spans.map((s) => [`${s.topic}:${s.partition}`, s.low]));
  const pid = app.child.pid;
  if (pid === undefined) throw new Error("the all-in-one process has no pid");
  process.kill(pid, "SIGUSR2");
  const started = performance.now();
  const elapsed = (): number => performance.now() - started;
  let group: string | undefined;
  let bulkMs: number | undefined;
  let lastSample = -Infinity;
  const samples: string[] = [];
  for (;;) {
    if (app.child.exitCode !== null)
      throw new Error(`npm start exited with ${app.child.exitCode}; see ${app.logFile}`);
    if (elapsed() > timeoutS * 1000) {
      log(`no swap after ${timeoutS} s: writing what was measured; see ${app.logFile}`);
      return {
        group: group ?? "",
        bulkMs: bulkMs ?? elapsed(),
        totalMs: elapsed(),
        finished: false,
        samples,
      };
    }
    // Only to stop waiting on a failure: the figures come from Kafka.
    if (readFileSync(app.logFile, "utf8").slice(logOffset).includes("replay failed"))
      throw new Error(`the replay failed; see ${app.logFile}`);
    const groups = (await admin.listGroups()).groups
      .map((g) => g.groupId)
      .filter((id) => id.startsWith(`${liveGroup}-replay-`));
    if (group !== undefined && !groups.includes(group)) break;
    group ??= groups[0];
    if (group !== undefined) {
      let done = 0;
      for (const t of await admin.fetchOffsets({ groupId: group, topics })) {
        for (const p of t.partitions) {
          const offset = Number(p.offset);
          if (offset >= 0) done += Math.max(0, offset - (low.get(`${t.topic}:${p.partition}`) ?? 0));
        }
      }
      if (bulkMs === undefined && done >= total) {
        bulkMs = elapsed();
        log(`replay group ${group}: all ${total} offsets committed at ${(bulkMs / 1000).toFixed(1)} s`);
      }
      if (elapsed() - lastSample >= 10_000) {
        lastSample = elapsed();
        const sample = `${(lastSample / 1000).toFixed(0)} s: ${done} / ${total} offsets`;
        // The results file keeps one a minute.
        if (samples.length === 0 || lastSample >= samples.length * 60_000) samples.push(sample);
        log(`replay ${sample}`);
      }
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  const totalMs = elapsed();
  log(`replay group ${group} deleted (swap done) at ${(totalMs / 1000).toFixed(1)} s`);
  return { group: group ?? "", bulkMs: bulkMs ?? totalMs, totalMs, finished: true, samples };
}

/** The replay's own summary, which only its log carries (start.ts prints the ReplayResult's figures). */
async function replaySummary(
  logFile: string,
  logOffset: number,
): Promise<Record<string, string> | undefined> {
  const patterns = {
    summary: /\[start\] replay (\S+): (\d+) record\(s\) at (\d+)\/s, swapped/,
    reconcile: /reconcile \S+: (\d+) difference\(s\) in ([\d.]+) s/,
    held: /live writes held (\d+) ms/,
  };
  for (let i = 0; i < 40; i++) {
    const text = readFileSync(logFile, "utf8").slice(logOffset);
    const summary = patterns.summary.exec(text);
    if (summary) {
      const reconcile = patterns.reconcile.exec(text);
      const held = patterns.held.exec(text);
      return {
        runId: summary[1] ?? "",
        records: summary[2] ?? "",
        changesPerSecond: summary[3] ?? "",
        differences: reconcile?.[1] ?? "?",
        reconcileS: reconcile?.[2] ?? "?",
        heldMs: held?.[1] ?? "?",
      };
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return undefined;
}

/** `reconcile --json` on the stopped process's data dir: the swapped marts against PostgreSQL. */
async function reconcileAfter(env: NodeJS.ProcessEnv): Promise<{ differences: number; seconds: number }> {
  const started = performance.now();
  const child = spawn(
    process.execPath,
    ["--import", "tsx", path.join(repoRoot, "scripts/cli.ts"), "reconcile", "--json"],
    { cwd: repoRoot, env, stdio: ["ignore", "pipe", "inherit"] },
  );
  let out = "";
  child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  if (code !== 0 && code !== 1) throw new Error(`reconcile exited with ${code}`);
  const result = JSON.parse(out) as { differenceCount: number };
  return { differences: result.differenceCount, seconds: (performance.now() - started) / 1000 };
}

const options = {
  scale: positive("scale", values.scale),
  telemetryDensity: positive("telemetry-density", values["telemetry-density"]),
  apiPort: positive("api-port", values["api-port"]),
  cache: true,
  log,
};
const machineBefore = machineLine();
const users = await ensureScaleData(options);
const consumer = loadConsumerConfig(scaleEnv(options));
const kafka = new Kafka({ brokers: consumer.brokers, logLevel: logLevel.NOTHING });
{
  // A run stopped before its swap (--timeout, a kill) leaves its shadow, and SIGUSR2 would resume it:
  // this run measures a whole replay, so the shadow goes first (the data directory is free until
  // npm start opens it).
  const client = createClickHouseClient(consumer.clickhouse);
  try {
    const dropped = await abandonReplay(client, kafka, consumer.clickhouse.database, log);
    if (dropped)
      log(`dropped the shadow of an interrupted earlier run (${dropped}): this run replays everything`);
  } finally {
    await client.close();
  }
}
const app = await startAllInOne(options, users);
const admin = kafka.admin();
await admin.connect();
const token = await tokenKeeper();
const month = values.month;
const scenarios: Scenario[] = [
  {
    name: `month report, user 1 (cached), ${rate} req/s on 1 connection`,
    path: () => `/reports/user/1?month=${month}`,
    options: { connections: 1, overallRate: rate },
  },
  {
    name: `month report, users 1..${users} in turn (first reads), ${connections} connection(s)`,
    path: (n) => `/reports/user/${(n % users) + 1}?month=${month}`,
    options: { connections },
  },
];
const rows: Latency[] = [];
let watch: ReplayWatch;
let spans: Span[];
let summary: Record<string, string> | undefined;
let rssMiB: number;
try {
  log(`idle: ${idleS} s of load`);
  rows.push(
    ...(
      await underLoad(
        app.url,
        scenarios,
        token.current,
        "idle",
        () => new Promise((r) => setTimeout(r, idleS * 1000)),
      )
    ).rows,
  );
  const topics = sourceTopics(consumer.topicPrefix).filter((t) => !t.endsWith(`.${HEARTBEAT_TABLE}`));
  spans = await dataSpans(admin, topics);
  const logOffset = statSync(app.logFile).size;
  log(`SIGUSR2 to ${app.child.pid}: replay of ${spans.reduce((s, p) => s + p.high - p.low, 0)} offsets`);
  const during = await underLoad(app.url, scenarios, token.current, "during the replay", () =>
    watchReplay(app, admin, consumer.group, spans, logOffset),
  );
  rows.push(...during.rows);
  watch = during.value;
  summary = watch.finished ? await replaySummary(app.logFile, logOffset) : undefined;
  rssMiB = app.peakRssMiB();
  log(`replay's own summary: ${JSON.stringify(summary ?? null)}; peak RSS ${rssMiB} MiB`);
} finally {
  token.stop();
  await admin.disconnect();
  await app.stop();
}
let after: { differences: number; seconds: number } | undefined;
if (values["reconcile-after"] && watch.finished) {
  log("reconcile of the swapped marts (process stopped)");
  after = await reconcileAfter(app.env);
  log(`reconcile: ${after.differences} difference(s) in ${after.seconds.toFixed(1)} s`);
}

const records = spans.reduce((s, p) => s + p.high - p.low, 0);
const fmt = (n: number): string => n.toLocaleString("en-US");
const file = appendResults(
  "replay",
  "Replay benchmarks",
  `Run ${new Date().toISOString()} (scale ${values.scale})`,
  [
    `- command: \`npm run bench:replay -- ${process.argv.slice(2).join(" ")}\`${values.note ? `; ${values.note}` : ""}`,
    `- machine: ${machineBefore} at the start, load average ${machineLine().replace(/.*load average ([\d. ]+),.*/, "$1")} at the end; shared with other work: the API, the consumers, the replay, the native stack and autocannon share the cores`,
    `- data: generate --scale ${values.scale} --telemetry-density ${values["telemetry-density"]} (${users} users; bench/api-scale.ts, \`benchapi_*\`), drained by \`npm start\` (cache on), quiet sources; then SIGUSR2: replay from earliest into the shadow, reconcile, swap`,
    `- replay (from Kafka: the replay group's committed offsets): **${fmt(records)} records** (data topics, earliest to end at SIGUSR2) in ${(watch.bulkMs / 1000).toFixed(1)} s = **${fmt(Math.round(records / (watch.bulkMs / 1000)))} records/s**, SIGUSR2 to all offsets committed; SIGUSR2 to group deleted (reconcile, catch-up, swap, shadow dropped) ${(watch.totalMs / 1000).toFixed(1)} s`,
    watch.finished
      ? `- replay's own summary (its log, the only place start.ts reports the ReplayResult): ${summary ? `run ${summary.runId}, ${fmt(Number(summary.records))} records at ${fmt(Number(summary.changesPerSecond))}/s; reconcile of the shadow ${summary.differences} difference(s) in ${summary.reconcileS} s; live writes held ${summary.heldMs} ms` : "no summary line found"}`
      : `- **not finished**: no swap within --timeout ${timeoutS} s (the figures above are up to then); the process was stopped, which fails the replay and leaves its shadow (the next run of this bench drops it first and replays everything)`,
    after
      ? `- after stopping the process, \`npm run reconcile\` of the swapped marts: **${after.differences} difference(s)** (${after.seconds.toFixed(1)} s)`
      : "- no reconcile after the stop (`--reconcile-after` runs one)",
    `- peak RSS of the all-in-one process: ${rssMiB} MiB`,
    `- progress samples: ${watch.samples.join("; ")}`,
    `- load: both scenarios together, token of support1 (any user), month ${month}; idle = ${idleS} s before the replay; during = SIGUSR2 until the replay group is deleted`,
    "",
    "| phase | scenario | p50 ms | p99 ms | max ms | req/s | requests | non-2xx | errors |",
    "|---|---|---|---|---|---|---|---|---|",
    ...rows.map(
      (m) =>
        `| ${m.phase} | ${m.scenario} | ${m.p50} | ${m.p99} | ${m.max} | ${m.rps} | ${m.total} | ${m.non2xx} | ${m.errors} |`,
    ),
  ],
);
log(`results appended to ${path.relative(repoRoot, file)}`);
const failed =
  !watch.finished ||
  summary?.differences !== "0" ||
  (after !== undefined && after.differences !== 0) ||
  rows.some((r) => r.non2xx > 0 || r.errors > 0);
process.exit(failed ? 1 : 0);
