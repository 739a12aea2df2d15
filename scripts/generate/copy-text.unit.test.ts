import { describe, expect, it } from "vitest";
import { copyLine, copyValue } from "./copy-text.js";

describe("COPY text format", () => {
  it("writes NULL, booleans and numbers the way COPY reads them", () => {
    expect(copyValue(null)).toBe("\\N");
    expect(copyValue(true)).toBe("t");
    expect(copyValue(false)).toBe("f");
    expect(copyValue(2999)).toBe("2999");
  });

  it("escapes the characters that would break a row", () => {
    expect(copyValue("a\tb\nc\\d\re")).toBe("a\\tb\\nc\\\\d\\re");
    expect(copyValue("Протез не включается")).toBe("Протез не включается");
  });

  it("joins a row with tabs and ends it with a newline", () => {
    expect(copyLine([1, "x", null])).toBe("1\tx\t\\N\n");
  });
});
