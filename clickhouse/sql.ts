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
