import { execFileSync } from "node:child_process";
import { chownSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import { repoRoot, type PgEndpoint } from "../../config.js";
import { StackError } from "../errors.js";
import { waitUntilHealthy } from "../health.js";
import { logFile, type StackLayout } from "../layout.js";
import { findPostgresBin } from "../tools.js";
import type { ComponentStatus } from "./status.js";

/**
 * The project's own PostgreSQL cluster (Debian's server binaries), wal_level=logical for Debezium.
 * initdb refuses to run as root, so as root the cluster belongs to the `postgres` OS user.
 */
const COMPONENT = "postgres";

export const DDL_FILES = {
  crm: path.join(repoRoot, "postgres", "001_crm_db.sql"),
  telemetry: path.join(repoRoot, "postgres", "002_telemetry_db.sql"),
};

/** Database that holds Apicurio Registry's schemas, so ids survive restarts. */
export const REGISTRY_DB = "schema_registry";

const isRoot = (): boolean => process.getuid?.() === 0;

function asOwner(command: string, args: string[]): string {
  const [cmd, argv] = isRoot() ? ["runuser", ["-u", "postgres", "--", command, ...args]] : [command, args];
  return execFileSync(cmd, argv, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

function ownDir(dir: string): void {
  mkdirSync(dir, { recursive: true });
  if (isRoot()) {
    const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
    const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim());
    chownSync(dir, uid, gid);
  }
}

const dataDir = (layout: StackLayout): string => path.join(layout.dataDir, "postgres");
const socketDir = (layout: StackLayout): string => path.join(layout.runDir, "postgres");

export function pgClient(endpoint: PgEndpoint, database: string): pg.Client {
  return new pg.Client({
    host: endpoint.host,
    port: endpoint.port,
    user: endpoint.user,
    ...(endpoint.password === undefined ? {} : { password: endpoint.password }),
    database,
    connectionTimeoutMillis: 5000,
  });
}

async function canConnect(endpoint: PgEndpoint): Promise<boolean> {
  const client = pgClient(endpoint, "postgres");
  try {
    await client.connect();
    await client.query("SELECT 1");
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function ensureDatabase(endpoint: PgEndpoint, database: string): Promise<void> {
  const client = pgClient(endpoint, "postgres");
  await client.connect();
  try {
    const found = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [database]);
    if (found.rowCount === 0) await client.query(`CREATE DATABASE ${pg.escapeIdentifier(database)}`);
  } finally {
    await client.end();
  }
}

/** Applies a DDL file (idempotent: IF NOT EXISTS everywhere). */
export async function applyDdl(endpoint: PgEndpoint, database: string, file: string): Promise<void> {
  const client = pgClient(endpoint, database);
  await client.connect();
  try {
    await client.query("SET client_min_messages = warning");
    await client.query(readFileSync(file, "utf8"));
  } finally {
    await client.end();
  }
}

export async function startPostgres(
  layout: StackLayout,
  endpoint: PgEndpoint,
  options: { timeoutS: number; log: (line: string) => void },
): Promise<void> {
  if (await canConnect(endpoint)) return;
  const bin = findPostgresBin();
  const data = dataDir(layout);
  const log = logFile(layout, COMPONENT);
  ownDir(path.dirname(data));
  ownDir(socketDir(layout));
  ownDir(layout.logDir);
  if (!existsSync(path.join(data, "PG_VERSION"))) {
    options.log(`initialising PostgreSQL cluster in ${data}`);
    asOwner(path.join(bin, "initdb"), [
      "-D",
      data,
      "-A",
      "trust",
      "-U",
      endpoint.user,
      "--encoding=UTF8",
      "--locale=C.UTF-8",
    ]);
  }
  const settings = [
    `-p ${endpoint.port}`,
    `-k ${socketDir(layout)}`,
    `-c listen_addresses=${endpoint.host}`,
    "-c wal_level=logical",
    "-c max_replication_slots=64",
    "-c max_wal_senders=64",
    "-c max_connections=200",
    "-c timezone=UTC",
    "-c log_timezone=UTC",
    "-c track_commit_timestamp=on",
  ].join(" ");
  try {
    asOwner(path.join(bin, "pg_ctl"), [
      "-D",
      data,
      "-l",
      log,
      "-o",
      settings,
      "-w",
      "-t",
      String(options.timeoutS),
      "start",
    ]);
  } catch (error) {
    throw new StackError("STACK_START_FAILED", "pg_ctl start failed", {
      component: COMPONENT,
      logFile: log,
      cause: error,
    });
  }
  await waitUntilHealthy(COMPONENT, () => canConnect(endpoint), { timeoutS: options.timeoutS, logFile: log });
}

/** `fast`: a clean shutdown; `immediate`: no checkpoint, crash recovery at the next start. */
export async function stopPostgres(
  layout: StackLayout,
  mode: "fast" | "immediate" = "fast",
): Promise<boolean> {
  const data = dataDir(layout);
  if (!existsSync(path.join(data, "postmaster.pid"))) return false;
  const bin = findPostgresBin();
  asOwner(path.join(bin, "pg_ctl"), ["-D", data, "-m", mode, "-w", "stop"]);
  return true;
}

/** The postmaster's pid, from its pid file; undefined when the cluster is not running. */
export function postgresPid(layout: StackLayout): number | undefined {
  const pidPath = path.join(dataDir(layout), "postmaster.pid");
  return existsSync(pidPath) ? Number(readFileSync(pidPath, "utf8").split("\n")[0]) : undefined;
}

export async function postgresStatus(layout: StackLayout, endpoint: PgEndpoint): Promise<ComponentStatus> {
  const pid = postgresPid(layout);
  let version: string | undefined;
  const client = pgClient(endpoint, "postgres");
  try {
    await client.connect();
    version = (
      await client.query<{ server_version: string }>("SHOW server_version")
    ).rows[0]?.server_version.split(" ")[0];
  } catch {
    version = undefined;
  } finally {
    await client.end().catch(() => undefined);
  }
  return {
    component: COMPONENT,
    version: version ?? "-",
    endpoint: `${endpoint.host}:${endpoint.port}`,
    healthy: version !== undefined,
    pid,
    logFile: logFile(layout, COMPONENT),
  };
}
