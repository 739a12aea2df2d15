import { createHash, randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { splitStatements } from "../split-statements.js";
import { assertDatabaseName } from "../sql.js";
import { mlViews } from "./ml-views.js";

/**
 * Server-mode access for ML engineers: the profile `ml_readonly`, the role `ml_reader` (SELECT on
 * the ml_* views, nothing else) and the user `ml_engineer`, as SQL rendered from the template
 * `ml_readonly.sql`. Pure: nothing here talks to ClickHouse (command.ts does).
 */
export const mlAccessTemplatePath = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  "ml_readonly.sql",
);

export const ML_PROFILE = "ml_readonly";
export const ML_ROLE = "ml_reader";
export const ML_USER = "ml_engineer";

/** What `ml_engineer` logs in with, as ClickHouse stores it (sha256_hash ... SALT ...). */
export interface MlCredentials {
  /** Hex SHA-256 of the password followed by the salt (ClickHouse's SHA256_PASSWORD check). */
  sha256Hex: string;
  salt: string;
}

export function hashMlPassword(password: string, salt = randomBytes(16).toString("hex")): MlCredentials {
  if (password.length === 0) throw new Error("the ML engineer's ClickHouse password is empty");
  return {
    sha256Hex: createHash("sha256")
      .update(password + salt)
      .digest("hex"),
    salt,
  };
}

/** A ClickHouse string literal: backslashes and single quotes escaped. */
export function sqlString(value: string): string {
  return `'${value.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`;
}

export async function loadMlAccessTemplate(): Promise<string> {
  return readFile(mlAccessTemplatePath, "utf8");
}

export interface MlAccessOptions {
  database: string;
  /** Without them the user statement keeps its placeholders: printable, never appliable. */
  credentials?: MlCredentials;
  /** @default mlViews */
  views?: readonly string[];
}

const placeholder = /\$\{([a-z_0-9]+)\}/g;
const credentialPlaceholders = new Set(["password_sha256_hex", "password_salt"]);

const withoutComments = (statement: string) =>
  statement
    .split("\n")
    .filter((line) => !line.trim().startsWith("--"))
    .join("\n")
    .trim();

/**
 * The template's statements, comments dropped, placeholders filled: `${db}` with the database,
 * a statement naming `${ml_view}` once per view, the credentials as escaped string literals.
 */
export function mlAccessStatements(template: string, options: MlAccessOptions): string[] {
  const database = assertDatabaseName(options.database);
  const views = (options.views ?? mlViews).map(assertDatabaseName);
  const values: Record<string, string> = { db: database };
  if (options.credentials) {
    values.password_sha256_hex = sqlString(options.credentials.sha256Hex);
    values.password_salt = sqlString(options.credentials.salt);
  }
  const fill = (statement: string, extra: Record<string, string> = {}) =>
    statement.replace(placeholder, (whole, name: string) => {
      const value = extra[name] ?? values[name];
      if (value !== undefined) return value;
      if (credentialPlaceholders.has(name)) return whole;
      throw new Error(`${mlAccessTemplatePath}: unknown placeholder ${whole}`);
    });
  const statements: string[] = [];
  for (const statement of splitStatements(template).map(withoutComments)) {
    if (statement === "") continue;
    if (statement.includes("${ml_view}")) {
      for (const view of views) statements.push(fill(statement, { ml_view: view }));
    } else {
      statements.push(fill(statement));
    }
  }
  return statements;
}

/** The script `ml-access apply --print` shows. */
export function formatMlAccessScript(statements: readonly string[], database: string): string {
  const header = [
    `-- ML engineers' read-only access to ${database} (clickhouse/access/ml_readonly.sql)`,
    `-- profile ${ML_PROFILE}, role ${ML_ROLE}, user ${ML_USER}; server mode only`,
  ];
  return `${header.join("\n")}\n\n${statements.map((s) => `${s};`).join("\n\n")}\n`;
}
