/**
 * Splits a SQL script at top-level semicolons, ignoring those inside quoted strings, quoted
 * identifiers and comments. Comment-only fragments are dropped.
 */
export function splitStatements(script: string): string[] {
  const statements: string[] = [];
  let current = "";
  let meaningful = false;
  let i = 0;
  const flush = () => {
    if (meaningful) statements.push(current.trim());
    current = "";
    meaningful = false;
  };
  while (i < script.length) {
    const ch = script[i] as string;
    const next = script[i + 1];
    if (ch === "-" && next === "-") {
      const end = script.indexOf("\n", i);
      const stop = end === -1 ? script.length : end;
      current += script.slice(i, stop);
      i = stop;
    } else if (ch === "/" && next === "*") {
      const end = script.indexOf("*/", i + 2);
      const stop = end === -1 ? script.length : end + 2;
      current += script.slice(i, stop);
      i = stop;
    } else if (ch === "'" || ch === '"' || ch === "`") {
      let j = i + 1;
      while (j < script.length && script[j] !== ch) j += script[j] === "\\" ? 2 : 1;
      current += script.slice(i, j + 1);
      meaningful = true;
      i = j + 1;
    } else if (ch === ";") {
      flush();
      i += 1;
    } else {
      current += ch;
      if (!/\s/.test(ch)) meaningful = true;
      i += 1;
    }
  }
  flush();
  return statements;
}
