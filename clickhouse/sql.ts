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

/** The parameter types `bindParams` renders; anything else is refused. */
const SCALAR_TYPE = /^(?:U?Int(?:8|16|32|64|128|256)|String|Date|Date32)$/;
const ARRAY_TYPE = /^Array\((U?Int(?:8|16|32|64|128|256)|String)\)$/;
const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*):([^{}]+)\}/g;

function typedLiteral(name: string, type: string, value: unknown): string {
  const array = ARRAY_TYPE.exec(type);
  if (array) {
    if (!Array.isArray(value)) throw new Error(`query parameter ${name}: ${type} needs an array`);
    return `[${value.map((v) => typedLiteral(name, array[1] as string, v)).join(", ")}]`;
  }
  if (!SCALAR_TYPE.test(type)) throw new Error(`query parameter ${name}: type ${type} is not supported here`);
  if (type.includes("Int")) {
    const ok =
      typeof value === "bigint" ||
      (typeof value === "number" && Number.isSafeInteger(value)) ||
      (typeof value === "string" && /^-?\d{1,78}$/.test(value));
    if (!ok) throw new Error(`query parameter ${name}: ${type} needs an integer, got ${String(value)}`);
    return String(value);
  }
  if (typeof value !== "string") throw new Error(`query parameter ${name}: ${type} needs a string`);
  return stringLiteral(value);
}

/**
 * Renders the typed placeholders (`{name:Type}`) of one of this project's own SQL texts as typed
 * literals — `CAST(<escaped literal> AS Type)` — so that the statement runs without the embedded
 * engine's parameter binding. chDB's Node binding runs every bound statement of the process in one
 * queue (its parameter state is not safe under concurrency), so the API's report reads, bound,
 * waited for each other and for every other bound statement; rendered, they run side by side on
 * their own connection. The binding stays typed and escaped in one place: integers must be
 * integers, strings and dates become escaped string literals cast to the declared type, arrays
 * are rendered element by element, any other type is refused, and a placeholder without a value
 * is an error (as the engine's binder would raise). Never for SQL written by users (the ML
 * endpoint binds nothing).
 */
export function bindParams(sql: string, params: Readonly<Record<string, unknown>>): string {
  return sql.replace(PLACEHOLDER, (_, name: string, type: string) => {
    if (!Object.hasOwn(params, name)) throw new Error(`query parameter ${name} has no value`);
    return `CAST(${typedLiteral(name, type, params[name])} AS ${type})`;
  });
}
