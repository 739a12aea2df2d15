import type { IHeaders } from "kafkajs";
import { SOURCE_HEADER_PREFIX } from "../../consumers/src/runtime/dead-letters.js";
import { base64Preview, hexDump, hexPreview } from "./bytes-preview.js";

/**
 * A dead letter as the consumers publish it (consumers/src/runtime/dead-letters.ts): the refused
 * record's value bytes untouched, its key in the header `dlq.source.key`, why in `dlq.code` and
 * `dlq.reason`, where from in `dlq.source.topic|partition|offset`, its own headers as
 * `dlq.source.header.<name>`.
 */
export interface DeadLetterView {
  /** Where the letter is in the dead-letter topic (what `--replay --offsets` names). */
  partition: number;
  offset: string;
  code: string | null;
  reason: string | null;
  source: { topic: string | null; partition: number | null; offset: string | null };
  /** The refused record's key and value bytes. */
  key: Buffer | null;
  value: Buffer | null;
  /**
   * The refused record's own headers (from `dlq.source.header.*`, and any other non-`dlq.*` header),
   * sent along on replay; a header repeated in the record is an array, in its order.
   */
  headers: Record<string, Buffer | Buffer[]>;
  /** Further copies of the same letter in the topic (a redone chunk publishes its letters again). */
  copies: number;
}

const bytesOf = (value: string | Buffer): Buffer => (Buffer.isBuffer(value) ? value : Buffer.from(value));

/** Every value of a header, in order (kafkajs gives an array when the name repeats). */
const allBuffers = (value: IHeaders[string]): Buffer[] =>
  value === undefined ? [] : (Array.isArray(value) ? value : [value]).map(bytesOf);

const asBuffer = (value: IHeaders[string]): Buffer | null => allBuffers(value)[0] ?? null;

export function deadLetterView(
  partition: number,
  message: { offset: string; value: Buffer | null; headers?: IHeaders },
): DeadLetterView {
  const headers = message.headers ?? {};
  const text = (name: string): string | null => asBuffer(headers[name])?.toString("utf8") ?? null;
  const sourcePartition = text("dlq.source.partition");
  const other: Record<string, Buffer | Buffer[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    const original = name.startsWith(SOURCE_HEADER_PREFIX)
      ? name.slice(SOURCE_HEADER_PREFIX.length)
      : name.startsWith("dlq.")
        ? null
        : name;
    const values = allBuffers(value);
    if (original === null || values.length === 0) continue;
    other[original] = values.length === 1 ? (values[0] as Buffer) : values;
  }
  return {
    partition,
    offset: message.offset,
    code: text("dlq.code"),
    reason: text("dlq.reason"),
    source: {
      topic: text("dlq.source.topic"),
      partition: sourcePartition !== null && /^\d+$/.test(sourcePartition) ? Number(sourcePartition) : null,
      offset: text("dlq.source.offset"),
    },
    key: asBuffer(headers["dlq.source.key"]),
    value: message.value,
    headers: other,
    copies: 0,
  };
}

/** Same source position: the same dead letter. */
export const sourceIdentity = (letter: DeadLetterView): string =>
  `${letter.source.topic}:${letter.source.partition}:${letter.source.offset}`;

/** `topics dlq --json`: full bytes as base64, a hex preview of the first 64 bytes. */
export function deadLetterJson(letter: DeadLetterView) {
  return {
    partition: letter.partition,
    offset: letter.offset,
    code: letter.code,
    reason: letter.reason,
    source: letter.source,
    copies: letter.copies,
    key: letter.key === null ? null : { bytes: letter.key.length, base64: letter.key.toString("base64") },
    value:
      letter.value === null
        ? null
        : {
            bytes: letter.value.length,
            hex: hexPreview(letter.value, 64),
            base64: letter.value.toString("base64"),
          },
    headers: Object.fromEntries(
      Object.entries(letter.headers).map(([k, v]) => [
        k,
        Array.isArray(v) ? v.map((b) => b.toString("base64")) : v.toString("base64"),
      ]),
    ),
  };
}

export function formatDeadLetterText(letter: DeadLetterView): string[] {
  const { topic, partition, offset } = letter.source;
  return [
    `${letter.partition}:${letter.offset}  [${letter.code ?? "?"}] ${letter.reason ?? "(no reason)"}`,
    `  source ${topic ?? "?"}[${partition ?? "?"}]@${offset ?? "?"}${letter.copies ? `  (${letter.copies} more copies)` : ""}`,
    `  key    ${letter.key === null ? "null" : `${hexPreview(letter.key)}  base64 ${base64Preview(letter.key)}`}`,
    ...(letter.value === null
      ? ["  value  null"]
      : [
          `  value  ${letter.value.length} bytes, base64 ${base64Preview(letter.value)}`,
          ...hexDump(letter.value).map((line) => `    ${line}`),
        ]),
  ];
}
