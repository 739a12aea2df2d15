import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, mkdirSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import { repoRoot } from "../scripts/config.js";
import { generate } from "../scripts/generate/index.js";
import { loadStackConfig } from "../scripts/stack/config.js";
import { ensureSourceDatabases, stackUp } from "../scripts/stack/stack.js";
import { SCALE_NAME as NAME, scaleEnv } from "./config.js";
import { procStatusMiB } from "./process-usage.js";

/**
 * The all-in-one process (`npm start`: consumers + API on one chDB data dir) over a data set of its
 * own (`benchapi_*` databases, topics, group and data dir), for the API benchmark at scale:
 * generated once (kept between runs), drained, then measured idle and while `simulate` streams.
 */
export interface ScaleOptions {
  scale: number;
  telemetryDensity: number;
  apiPort: number;
  /** Report cache on (the default) or off, for a side-by-side run. */
  cache: boolean;
  /** Settings of the all-in-one process over the bench's own (a BENCH_LEVER value). */
  settings?: Record<string, string>;
  log: (line: string) => void;
}

export interface AllInOne {
  url: string;
  env: NodeJS.ProcessEnv;
  child: ChildProcess;
  users: number;
  /** The process's stdout and stderr, appended to (`.state/bench/<name>-start.log`). */
  logFile: string;
  /** Peak resident set (VmHWM) of the process so far, MiB. */
  peakRssMiB(): number;
  stop(): Promise<void>;
}

async function userCount(env: NodeJS.ProcessEnv): Promise<number> {
  const stack = loadStackConfig(env);
  const client = new pg.Client({ ...stack.pg, password: stack.pg.password, database: stack.crmDb });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: string }>("SELECT count(*) AS n FROM crm_users");
    return Number(rows[0]?.n ?? 0);
  } finally {
    await client.end();
  }
}

/** Generates the data set unless the databases already hold it (same scale and density: same user count). */
export async function ensureScaleData(options: ScaleOptions): Promise<number> {
  const env = scaleEnv(options);
  const stack = loadStackConfig(env);
  await stackUp(stack, { sourceConnectors: false, log: (l) => options.log(`[stack] ${l}`) });
  await ensureSourceDatabases(stack);
  const users = await userCount(env);
  if (users > 0) {
    options.log(`${stack.crmDb} has ${users} users: keeping the data set`);
    return users;
  }
  options.log(
    `generating scale ${options.scale}, telemetry density ${options.telemetryDensity} into ${stack.crmDb}, ${stack.telemetryDb}`,
  );
  await generate({
    pg: stack.pg,
    crmDb: stack.crmDb,
    telemetryDb: stack.telemetryDb,
    scale: options.scale,
    seed: 42,
    telemetryDensity: options.telemetryDensity,
    progress: false,
  });
  return userCount(env);
}

function vmHwmMiB(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    return procStatusMiB(pid, "VmHWM");
  } catch {
    return 0;
  }
}

/**
 * Spawns scripts/start.ts (what `npm start` runs) with `env`; its output is appended to
 * .state/bench/<name>-start.log. Refuses when something already answers on the API port `env` names:
 * the bench would measure that process instead of its own.
 */
export async function spawnStart(
  name: string,
  env: NodeJS.ProcessEnv,
): Promise<{ child: ChildProcess; logFile: string }> {
  const url = `http://127.0.0.1:${env.BIONICPRO_API_PORT}`;
  const answers = await fetch(`${url}/health`).then(
    () => true,
    () => false,
  );
  if (answers) throw new Error(`something already answers on ${url}: pick another --api-port`);
  const logFile = path.join(repoRoot, ".state", "bench", `${name}-start.log`);
  mkdirSync(path.dirname(logFile), { recursive: true });
  const out = createWriteStream(logFile, { flags: "a" });
  const child = spawn(process.execPath, ["--import", "tsx", path.join(repoRoot, "scripts/start.ts")], {
    cwd: repoRoot,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout?.pipe(out);
  child.stderr?.pipe(out);
  return { child, logFile };
}

/** Starts scripts/start.ts on the data set and waits until its consumers have no lag. */
export async function startAllInOne(options: ScaleOptions, users: number): Promise<AllInOne> {
  const env = { ...scaleEnv(options), ...options.settings };
  const { child, logFile } = await spawnStart(NAME, env);
  const url = `http://127.0.0.1:${options.apiPort}`;
  options.log(`npm start on the data set (cache ${options.cache ? "on" : "off"}), log ${logFile}`);
  const started = Date.now();
  let lastSaid = 0;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`npm start exited with ${child.exitCode}; see ${logFile}`);
    const health = await fetch(`${url}/health`)
      .then((r) => r.json() as Promise<{ checks?: { consumers?: { lag: number | null; records: number } } }>)
      .catch(() => null);
    const consumers = health?.checks?.consumers;
    if (consumers && consumers.lag === 0 && consumers.records > 0) break;
    if (Date.now() - lastSaid > 15_000) {
      lastSaid = Date.now();
      options.log(
        `waiting for the consumers to drain: ${consumers ? `lag ${consumers.lag}, ${consumers.records} records applied` : "API not up yet"} (${Math.round((Date.now() - started) / 1000)} s)`,
      );
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  options.log(`drained in ${Math.round((Date.now() - started) / 1000)} s`);
  return {
    url,
    env,
    child,
    users,
    logFile,
    peakRssMiB: () => vmHwmMiB(child.pid),
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGINT");
      await exited;
    },
  };
}

/** `simulate --rate <rate>` on the data set, until stopped. */
export function startSimulate(env: NodeJS.ProcessEnv, rate: number): { stop: () => Promise<void> } {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", path.join(repoRoot, "scripts/cli.ts"), "simulate", "--rate", String(rate)],
    { cwd: repoRoot, env, stdio: "ignore" },
  );
  return {
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGINT");
      await exited;
    },
  };
}
