import { describe, expect, it } from "vitest";
import { base64Preview, hexDump, hexPreview } from "./bytes-preview.js";

const framed = Buffer.concat([Buffer.from([0, 0, 0, 0, 4]), Buffer.from("poison\u0000\u00ff", "latin1")]);

describe("byte previews", () => {
  it("hexPreview shows the first bytes and counts the rest", () => {
    expect(hexPreview(framed)).toBe("00 00 00 00 04 70 6f 69 73 6f 6e 00 ff");
    expect(hexPreview(framed, 5)).toBe("00 00 00 00 04 … (+8 bytes)");
    expect(hexPreview(Buffer.alloc(0))).toBe("");
  });

  it("base64Preview cuts long values with an ellipsis", () => {
    expect(base64Preview(framed)).toBe("AAAAAARwb2lzb24A/w==");
    expect(base64Preview(framed, 6)).toBe("AAAAAARw…");
  });

  it("hexDump prints 16 bytes a line with printable ASCII", () => {
    const bytes = Buffer.from("0123456789abcdefXYZ\n", "latin1");
    expect(hexDump(bytes)).toEqual([
      "00000000  30 31 32 33 34 35 36 37 38 39 61 62 63 64 65 66  |0123456789abcdef|",
      "00000010  58 59 5a 0a                                      |XYZ.|",
    ]);
    expect(hexDump(bytes, 16)).toEqual([
      "00000000  30 31 32 33 34 35 36 37 38 39 61 62 63 64 65 66  |0123456789abcdef|",
      "… 4 more bytes",
    ]);
  });
});
