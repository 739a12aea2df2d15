/** Database names are spliced into SQL text, so only plain identifiers are accepted. */
const identifier = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

export function assertDatabaseName(name: string): string {
  if (!identifier.test(name)) {
    throw new Error(`invalid ClickHouse database name "${name}": use letters, digits and underscores`);
  }
  return name;
}

/** Replaces every `${db}` placeholder of a SQL text with the (validated) database name. */
export function withDatabase(sql: string, database: string): string {
  const db = assertDatabaseName(database);
  return sql.replaceAll("${db}", db);
}

/** A ClickHouse string literal: backslash and quote escaped. */
export function stringLiteral(value: string): string {
  return `'${value.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`;
}

/** A ClickHouse unsigned integer literal; anything but a non-negative safe integer (or bigint) is refused. */
export function uintLiteral(value: number | bigint): string {
  if (typeof value === "bigint" ? value < 0n : !Number.isSafeInteger(value) || value < 0) {
    throw new Error(`not an unsigned integer: ${String(value)}`);
  }
  return value.toString();
}
