import type { ClickHouseClient, ClickHouseSettings } from "@clickhouse/client";
import { splitStatements } from "../../clickhouse/split-statements.js";
import { ApiError } from "../errors.js";
import { chCodes, engineErrorCode, isLimitCode } from "./engine-errors.js";
import { isAllowedRelation, isForbiddenFunction, type Relation } from "./policy.js";

/**
 * The ML engineers' read-only session: a ClickHouse client of its own whose unqualified table names
 * resolve in `database`, and the settings every statement on it carries (identical each time: the
 * embedded engine keeps them as session settings, and readonly = 1 refuses any change).
 */
export interface SqlSession {
  client: ClickHouseClient;
  database: string;
  settings: ClickHouseSettings;
}

export interface InspectedQuery {
  /** The engine's own single-line rendering of the one statement: what is executed. */
  canonical: string;
  /** The canonical text with every literal replaced by `?` (ClickHouse normalizeQuery): what is logged. */
  shape: string;
}

interface AstNode {
  type: string;
  name: string;
  children: AstNode[];
}

/**
 * ClickHouse's EXPLAIN AST text (one node per line, one space of indent per level,
 * `Type [name] [(alias a)] [(children n)]`) -> a tree.
 */
export function parseAst(lines: readonly string[]): AstNode[] {
  const roots: AstNode[] = [];
  const stack: { depth: number; node: AstNode }[] = [];
  for (const line of lines) {
    const depth = line.length - line.trimStart().length;
    const body = line.trim().replace(/ \(children \d+\)$/, "");
    const space = body.indexOf(" ");
    const type = space === -1 ? body : body.slice(0, space);
    const rest = space === -1 ? "" : body.slice(space + 1);
    const alias = rest.indexOf(" (alias ");
    const node: AstNode = { type, name: alias === -1 ? rest : rest.slice(0, alias), children: [] };
    while (stack.length > 0 && (stack.at(-1) as { depth: number }).depth >= depth) stack.pop();
    const parent = stack.at(-1);
    if (parent) parent.node.children.push(node);
    else roots.push(node);
    stack.push({ depth, node });
  }
  return roots;
}

function* walk(
  node: AstNode,
  parent: AstNode | null = null,
): Generator<{ node: AstNode; parent: AstNode | null }> {
  yield { node, parent };
  for (const child of node.children) yield* walk(child, node);
}

const refuse = (code: ConstructorParameters<typeof ApiError>[0], detail: string) =>
  new ApiError(code, detail);

/** A ClickHouse error raised by the user's SQL -> a problem; anything else is rethrown. */
export function sqlProblem(error: unknown): never {
  const code = engineErrorCode(error);
  if (code === null) throw error;
  const message = (error as Error).message;
  if (isLimitCode(code)) throw new ApiError("SQL_LIMIT_EXCEEDED", message, { cause: error });
  if (code === chCodes.READONLY) throw new ApiError("SQL_READ_ONLY", message, { cause: error });
  if (code === chCodes.SYNTAX_ERROR) throw new ApiError("SQL_SYNTAX_ERROR", message, { cause: error });
  throw new ApiError("SQL_QUERY_FAILED", message, { cause: error });
}

async function rows<T>(session: SqlSession, query: string, params?: Record<string, unknown>): Promise<T[]> {
  const result = await session.client.query({
    query,
    query_params: params,
    format: "JSONEachRow",
    clickhouse_settings: session.settings,
  });
  return result.json<T>();
}

interface Catalog {
  databases: Set<string>;
  relations: Map<string, Relation>;
  at: number;
}

/**
 * Decides whether an ML engineer's SQL may run, with ClickHouse's own parser and analyzer rather
 * than patterns over the text:
 * 1. `formatQuerySingleLine` (the text bound as a parameter, never spliced) parses exactly one
 *    statement and renders it canonically; that rendering is what runs.
 * 2. `EXPLAIN AST SELECT * FROM (<canonical>)`: only a SELECT parses there, and never with FORMAT or
 *    INTO OUTFILE. In its AST: no SETTINGS, no table function (a Function under a TableExpression),
 *    no forbidden function, and no table or identifier naming a relation ML may not read.
 *    This step executes nothing, and it stops every reference to a forbidden relation before step 3.
 * 3. `EXPLAIN QUERY TREE <canonical>`: the analyzer resolves every name (CTEs, aliases, default
 *    database, `x IN table`); each storage it reads must be an allowed relation (or system.one
 *    for a SELECT without FROM), and no table function or forbidden function may remain.
 * Everything runs on a read-only session with the time and memory limits, so even a check that
 * missed something could not write, reach files or URLs (refused in readonly = 1) or run away.
 * The guard keeps only the catalog (databases, relations and engines; refreshed every 30 s); the
 * session is the caller's, one per request.
 */
export class SqlGuard {
  private catalog: Catalog | null = null;

  constructor(private readonly catalogTtlMs = 30_000) {}

  private async relations(session: SqlSession): Promise<Catalog> {
    if (this.catalog && Date.now() - this.catalog.at < this.catalogTtlMs) return this.catalog;
    const [databases, relations] = await Promise.all([
      rows<{ name: string }>(session, "SELECT name FROM system.databases"),
      rows<Relation>(session, "SELECT name, engine FROM system.tables WHERE database = {db:String}", {
        db: session.database,
      }),
    ]);
    this.catalog = {
      databases: new Set(databases.map((d) => d.name)),
      relations: new Map(relations.map((r) => [r.name, r])),
      at: Date.now(),
    };
    return this.catalog;
  }

  async inspect(session: SqlSession, text: string): Promise<InspectedQuery> {
    const { canonical, shape } = await this.canonical(session, text);
    const catalog = await this.relations(session);
    await this.checkAst(session, canonical, catalog);
    await this.checkQueryTree(session, canonical, catalog);
    return { canonical, shape };
  }

  private async canonical(session: SqlSession, text: string): Promise<InspectedQuery> {
    try {
      const [row] = await rows<{ canonical: string; shape: string }>(
        session,
        "SELECT formatQuerySingleLine({q:String}) AS canonical, normalizeQuery(canonical) AS shape",
        { q: text },
      );
      if (!row) throw new Error("formatQuerySingleLine returned no row");
      return row;
    } catch (error) {
      if (engineErrorCode(error) === chCodes.SYNTAX_ERROR && splitStatements(text).length > 1)
        throw refuse("SQL_MULTIPLE_STATEMENTS", "send exactly one SELECT statement per request");
      return sqlProblem(error);
    }
  }

  private forbiddenName(database: string, name: string, catalog: Catalog): boolean {
    const parts = name.split(".");
    const relationIn = (db: string, relation: string) => {
      if (db !== database) return catalog.databases.has(db);
      const found = catalog.relations.get(relation);
      return found !== undefined && !isAllowedRelation(found);
    };
    if (parts.length === 1) return relationIn(database, name);
    return relationIn(parts[0] as string, parts.slice(1).join("."));
  }

  private async checkAst(session: SqlSession, canonical: string, catalog: Catalog): Promise<void> {
    let lines: { explain: string }[];
    try {
      lines = await rows<{ explain: string }>(session, `EXPLAIN AST SELECT * FROM (${canonical})`);
    } catch (error) {
      if (engineErrorCode(error) !== chCodes.SYNTAX_ERROR) return sqlProblem(error);
      // The statement parses alone but not as a subquery: not a SELECT, or a SELECT with output options.
      throw /^(SELECT|WITH)\b|^\(/i.test(canonical)
        ? refuse(
            "SQL_CLAUSE_NOT_ALLOWED",
            "FORMAT and INTO OUTFILE are not allowed: ask for JSON or CSV with Accept or format",
          )
        : refuse("SQL_NOT_SELECT", "only SELECT queries are allowed");
    }
    const [root] = parseAst(lines.map((l) => l.explain));
    if (!root) throw new Error("EXPLAIN AST returned nothing");
    for (const { node, parent } of walk(root)) {
      if (parent?.type === "TableExpression" && node.type === "Function") {
        if (node.name === "viewExplain") throw refuse("SQL_NOT_SELECT", "only SELECT queries are allowed");
        throw refuse(
          "SQL_TABLE_FUNCTION",
          `table function ${node.name}() is not allowed; read the ml_* views or the mart tables`,
        );
      }
      if (node.type === "Set")
        throw refuse("SQL_CLAUSE_NOT_ALLOWED", "SETTINGS clauses are not allowed: the limits are fixed");
      if (node.type === "Function" && isForbiddenFunction(node.name))
        throw refuse("SQL_FORBIDDEN_FUNCTION", `function ${node.name}() is not allowed`);
      if (
        (node.type === "TableIdentifier" || node.type === "Identifier") &&
        this.forbiddenName(session.database, node.name, catalog)
      )
        throw refuse(
          "SQL_FORBIDDEN_RELATION",
          `${node.name} is not readable here; read the ml_* views or the mart tables`,
        );
    }
  }

  private async checkQueryTree(session: SqlSession, canonical: string, catalog: Catalog): Promise<void> {
    let lines: { explain: string }[];
    try {
      lines = await rows<{ explain: string }>(session, `EXPLAIN QUERY TREE ${canonical}`);
    } catch (error) {
      return sqlProblem(error);
    }
    const allowed = (qualified: string) => {
      if (qualified === "system.one") return true;
      const prefix = `${session.database}.`;
      if (!qualified.startsWith(prefix)) return false;
      const relation = catalog.relations.get(qualified.slice(prefix.length));
      return relation !== undefined && isAllowedRelation(relation);
    };
    for (const { explain } of lines) {
      if (/^\s*TABLE_FUNCTION\b/.test(explain))
        throw refuse("SQL_TABLE_FUNCTION", "table functions are not allowed");
      const table = /\btable_name: ([^,]+)/.exec(explain)?.[1];
      if (table !== undefined && !allowed(table))
        throw refuse(
          "SQL_FORBIDDEN_RELATION",
          `${table} is not readable here; read the ml_* views or the mart tables`,
        );
      const fn = /\bfunction_name: ([^,]*)/.exec(explain)?.[1];
      if (fn !== undefined && isForbiddenFunction(fn))
        throw refuse("SQL_FORBIDDEN_FUNCTION", `function ${fn}() is not allowed`);
    }
  }
}
