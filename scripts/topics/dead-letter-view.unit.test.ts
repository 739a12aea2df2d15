import { describe, expect, it } from "vitest";
import { deadLetterJson, deadLetterView, formatDeadLetterText, sourceIdentity } from "./dead-letter-view.js";

const value = Buffer.concat([
  Buffer.from([0, 0, 0, 0, 4]),
  Buffer.from("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "latin1"),
]);
const message = {
  offset: "12",
  value,
  headers: {
    "dlq.code": Buffer.from("DECODE_BAD_AVRO"),
    "dlq.reason": Buffer.from("Avro body does not match schema 4: truncated"),
    "dlq.source.topic": Buffer.from("p.crm.crm_payments"),
    "dlq.source.partition": Buffer.from("0"),
    "dlq.source.offset": Buffer.from("41"),
    "dlq.source.key": Buffer.from([0, 0, 0, 0, 3, 0x82, 0x01]),
    "dlq.source.header.trace-id": Buffer.from("t-1"),
    "dlq.source.header.dlq.code": Buffer.from("the record's own"),
    "dlq.source.header.hop": [Buffer.from("a"), Buffer.from("b")],
    trace: "abc",
  },
};

describe("deadLetterView", () => {
  it("reads the consumers' dlq.* headers and keeps the record's own headers (repeated ones in order) for replay", () => {
    const letter = deadLetterView(0, message);
    expect(letter).toEqual({
      partition: 0,
      offset: "12",
      code: "DECODE_BAD_AVRO",
      reason: "Avro body does not match schema 4: truncated",
      source: { topic: "p.crm.crm_payments", partition: 0, offset: "41" },
      key: Buffer.from([0, 0, 0, 0, 3, 0x82, 0x01]),
      value,
      headers: {
        "trace-id": Buffer.from("t-1"),
        "dlq.code": Buffer.from("the record's own"),
        hop: [Buffer.from("a"), Buffer.from("b")],
        trace: Buffer.from("abc"),
      },
      copies: 0,
    });
    expect(sourceIdentity(letter)).toBe("p.crm.crm_payments:0:41");
  });

  it("leaves what a letter lacks as null", () => {
    expect(deadLetterView(1, { offset: "3", value: null })).toEqual({
      partition: 1,
      offset: "3",
      code: null,
      reason: null,
      source: { topic: null, partition: null, offset: null },
      key: null,
      value: null,
      headers: {},
      copies: 0,
    });
  });

  it("previews the bytes as JSON and as text", () => {
    const letter = deadLetterView(0, message);
    expect(deadLetterJson(letter)).toEqual({
      partition: 0,
      offset: "12",
      code: "DECODE_BAD_AVRO",
      reason: "Avro body does not match schema 4: truncated",
      source: { topic: "p.crm.crm_payments", partition: 0, offset: "41" },
      copies: 0,
      key: { bytes: 7, base64: "AAAAAAOCAQ==" },
      value: {
        bytes: 31,
        hex: "00 00 00 00 04 41 42 43 44 45 46 47 48 49 4a 4b 4c 4d 4e 4f 50 51 52 53 54 55 56 57 58 59 5a",
        base64: "AAAAAARBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWg==",
      },
      headers: {
        "trace-id": "dC0x",
        "dlq.code": "dGhlIHJlY29yZCdzIG93bg==",
        hop: ["YQ==", "Yg=="],
        trace: "YWJj",
      },
    });
    expect(formatDeadLetterText(letter)).toEqual([
      "0:12  [DECODE_BAD_AVRO] Avro body does not match schema 4: truncated",
      "  source p.crm.crm_payments[0]@41",
      "  key    00 00 00 00 03 82 01  base64 AAAAAAOCAQ==",
      "  value  31 bytes, base64 AAAAAARBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWg==",
      "    00000000  00 00 00 00 04 41 42 43 44 45 46 47 48 49 4a 4b  |.....ABCDEFGHIJK|",
      "    00000010  4c 4d 4e 4f 50 51 52 53 54 55 56 57 58 59 5a     |LMNOPQRSTUVWXYZ|",
    ]);
  });
});
