import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { ClickHouseClient } from "@clickhouse/client";
import { Command } from "commander";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createClickHouseClient } from "../client.js";
import { loadMigrations, migrate } from "../migrate.js";
import { registerMlAccessCommand } from "./command.js";
import { loadMlAccessConfig } from "./config.js";
import { hashMlPassword, loadMlAccessTemplate, mlAccessStatements, sqlString } from "./ml-access.js";
import { mlViews } from "./ml-views.js";

/**
 * The server-mode grants of ML engineers, checked on the SQL itself: every statement is parsed by
 * ClickHouse's own parser (the embedded engine, same 26.x code as the server) and its canonical
 * rendering is what the assertions read. The embedded engine has no access control, so applying
 * the grants is not tested here (docs/ml.md says how to check them on a server).
 */
let dir: string;
let ch: ClickHouseClient;
let template: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "bionicpro-ml-access-"));
  ch = createClickHouseClient({ path: dir, database: "ml_access_test" });
  template = await loadMlAccessTemplate();
}, 60_000);

afterAll(async () => {
  await ch?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** ClickHouse's canonical one-line rendering of one statement (throws when it does not parse). */
async function canonical(statement: string): Promise<string> {
  const result = await ch.query({
    query: "SELECT formatQuerySingleLine({q:String}) AS f",
    query_params: { q: statement },
    format: "JSONEachRow",
  });
  const [row] = await result.json<{ f: string }>();
  return (row as { f: string }).f;
}

const credentials = hashMlPassword("correct horse", "0123456789abcdef");

async function rendered(database = "reports"): Promise<string[]> {
  return Promise.all(mlAccessStatements(template, { database, credentials }).map(canonical));
}

describe("ml_* views: one list", () => {
  it("is exactly the views the migrations create", async () => {
    const created = (await loadMigrations()).flatMap((m) =>
      [...m.sql.matchAll(/CREATE\s+VIEW\s+IF\s+NOT\s+EXISTS\s+\$\{db\}\.(\w+)/gi)].map((match) => match[1]),
    );
    expect([...created].sort()).toEqual([...mlViews].sort());
  });

  it("migration 011 makes every ml_* view SQL SECURITY DEFINER, and no other relation is a view", async () => {
    await migrate(ch, "ml_access_test");
    const result = await ch.query({
      query:
        "SELECT name, engine, create_table_query LIKE '% SQL SECURITY DEFINER %' AS definer " +
        "FROM system.tables WHERE database = 'ml_access_test' AND engine = 'View' ORDER BY name",
      format: "JSONEachRow",
    });
    expect(await result.json()).toEqual(
      [...mlViews].sort().map((name) => ({ name, engine: "View", definer: 1 })),
    );
  }, 60_000);
});

describe("the role ml_reader", () => {
  it("is granted SELECT on every ml_* view of the marts database, and nothing else", async () => {
    const grants = (await rendered()).filter((s) => s.startsWith("GRANT "));
    expect(grants).toEqual([
      ...mlViews.map((view) => `GRANT SELECT ON reports.${view} TO ml_reader`),
      "GRANT ml_reader TO ml_engineer",
    ]);
  });

  it("starts from no privileges: the only REVOKE empties the role, no statement grants more", async () => {
    const statements = await rendered();
    expect(statements.filter((s) => /^REVOKE\b/.test(s))).toEqual(["REVOKE ALL ON *.* FROM ml_reader"]);
    const revokeAt = statements.indexOf("REVOKE ALL ON *.* FROM ml_reader");
    const firstGrantAt = statements.findIndex((s) => s.startsWith("GRANT SELECT"));
    expect(revokeAt).toBeLessThan(firstGrantAt);
    for (const grant of statements.filter((s) => s.startsWith("GRANT "))) {
      expect(grant).not.toMatch(/\bALL\b|\bINSERT\b|\bALTER\b|\bCREATE\b|\bDROP\b|\bTRUNCATE\b|\bSYSTEM\b/);
      expect(grant).not.toMatch(
        /\*|\bsystem\.|information_schema|dim_|_changes\b|_progress|schema_migrations/,
      );
      expect(grant).not.toMatch(/WITH (GRANT|ADMIN) OPTION/);
    }
  });

  it("is granted on the database it is rendered for", async () => {
    const grants = (await rendered("reports_shadow")).filter((s) => s.startsWith("GRANT SELECT"));
    expect(grants).toEqual(mlViews.map((view) => `GRANT SELECT ON reports_shadow.${view} TO ml_reader`));
    expect(() => mlAccessStatements(template, { database: "reports; DROP TABLE x" })).toThrow(
      /invalid ClickHouse database name/,
    );
  });
});

describe("the profile ml_readonly", () => {
  it("is read-only with every limit pinned (CONST), on the role and on the user", async () => {
    const statements = await rendered();
    expect(statements).toContain(
      "ALTER SETTINGS PROFILE `ml_readonly` DROP ALL SETTINGS, DROP ALL PROFILES, ADD SETTINGS " +
        "readonly = 2, allow_ddl = 0 CONST, max_execution_time = 60 CONST, max_memory_usage = 4000000000 CONST, " +
        "max_result_rows = 1000000 CONST, result_overflow_mode = 'throw' CONST, " +
        "max_rows_to_read = 1000000000 CONST, read_overflow_mode = 'throw' CONST, " +
        "max_concurrent_queries_for_user = 4 CONST",
    );
    expect(statements).toContain(
      "ALTER ROLE ml_reader DROP ALL SETTINGS, DROP ALL PROFILES, ADD PROFILE `ml_readonly`",
    );
    const user = statements.find((s) => s.startsWith("CREATE USER"));
    expect(user).toMatch(/ DEFAULT DATABASE reports SETTINGS PROFILE `ml_readonly` GRANTEES NONE$/);
    expect(statements.at(-1)).toBe("ALTER USER ml_engineer DEFAULT ROLE ml_reader");
  });
});

describe("the password of ml_engineer", () => {
  const password = "s3cr'et\\ pass";

  it("never appears in the SQL: only its salted SHA-256 (ClickHouse: sha256(password + salt))", async () => {
    const salted = hashMlPassword(password, "a1b2");
    expect(salted.sha256Hex).toBe(createHash("sha256").update(`${password}a1b2`).digest("hex"));
    const statements = mlAccessStatements(template, { database: "reports", credentials: salted });
    expect(statements.join("\n")).not.toContain("s3cr");
    const user = await canonical(statements.find((s) => s.startsWith("CREATE USER")) as string);
    expect(user).toContain(`IDENTIFIED WITH sha256_hash BY '${salted.sha256Hex}' SALT 'a1b2'`);
    expect(hashMlPassword(password).salt).not.toBe(hashMlPassword(password).salt);
  });

  it("without BIONICPRO_ML_CLICKHOUSE_PASSWORD the user statement keeps placeholders that cannot run", async () => {
    const statements = mlAccessStatements(template, { database: "reports" });
    const user = statements.find((s) => s.startsWith("CREATE USER")) as string;
    expect(user).toContain("IDENTIFIED WITH sha256_hash BY ${password_sha256_hex} SALT ${password_salt}");
    await expect(canonical(user)).rejects.toThrow(/Syntax error/);
  });

  it("literals are escaped: what ClickHouse reads back is the value", async () => {
    for (const value of ["it's", "back\\slash", "\\'; DROP USER default; --", "ok"]) {
      const result = await ch.query({ query: `SELECT ${sqlString(value)} AS v`, format: "JSONEachRow" });
      expect(await result.json()).toEqual([{ v: value }]);
    }
  });

  it("is read from the environment only, and is not enumerable", () => {
    const config = loadMlAccessConfig({ BIONICPRO_ML_CLICKHOUSE_PASSWORD: password });
    expect(config.password).toBe(password);
    expect(JSON.stringify(config)).toBe("{}");
    expect(loadMlAccessConfig({ BIONICPRO_ML_CLICKHOUSE_PASSWORD: "" }).password).toBeUndefined();
  });

  it("a template placeholder nobody fills is an error, not SQL", () => {
    expect(() => mlAccessStatements("GRANT SELECT ON ${db}.${nope} TO r;", { database: "reports" })).toThrow(
      /unknown placeholder \$\{nope\}/,
    );
  });
});

describe("ml-access apply (the CLI command, in process)", () => {
  async function cli(args: string[], password: string) {
    const program = new Command("bionicpro").exitOverride();
    registerMlAccessCommand(program, () => ({
      clickhouse: { path: dir, database: "reports" },
      mlAccess: loadMlAccessConfig({ BIONICPRO_ML_CLICKHOUSE_PASSWORD: password }),
    }));
    const out: string[] = [];
    const err: string[] = [];
    const stdout = vi
      .spyOn(process.stdout, "write")
      .mockImplementation((chunk) => out.push(String(chunk)) > 0);
    const stderr = vi
      .spyOn(process.stderr, "write")
      .mockImplementation((chunk) => err.push(String(chunk)) > 0);
    const exitCode = process.exitCode;
    try {
      await program.parseAsync(["ml-access", "apply", ...args], { from: "user" });
      return { stdout: out.join(""), stderr: err.join(""), exitCode: process.exitCode ?? 0 };
    } finally {
      stdout.mockRestore();
      stderr.mockRestore();
      process.exitCode = exitCode;
    }
  }

  it("--print shows the SQL with the hash, never the password", async () => {
    const run = await cli(["--print"], "demo'pw");
    expect(run.exitCode).toBe(0);
    expect(run.stdout).not.toContain("demo'pw");
    expect(run.stdout).toMatch(/IDENTIFIED WITH sha256_hash BY '[0-9a-f]{64}' SALT '[0-9a-f]{32}'/);
    expect(run.stdout.match(/^GRANT SELECT ON reports\.ml_\w+ TO ml_reader;$/gm)).toHaveLength(
      mlViews.length,
    );
  });

  it("embedded: applies nothing, exits 2 and points at POST /api/sql", async () => {
    const run = await cli([], "demo-pw");
    expect(run.exitCode).toBe(2);
    expect(run.stdout).toBe("");
    expect(run.stderr).toMatch(/exists only in server mode \(CLICKHOUSE_URL\)/);
    expect(run.stderr).toMatch(/POST \/api\/sql/);
  });
});
