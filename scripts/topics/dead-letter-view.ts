import type { IHeaders } from "kafkajs";
import { base64Preview, hexDump, hexPreview } from "./bytes-preview.js";

/**
 * A dead letter as the consumers publish it (consumers/src/runtime/dead-letters.ts): the refused
 * record's value bytes untouched, its key in the header `dlq.source.key`, why in `dlq.code` and
 * `dlq.reason`, where from in `dlq.source.topic|partition|offset`.
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
  /** The letter's other headers (not `dlq.*`), sent along on replay. */
  headers: Record<string, Buffer>;
  /** Further copies of the same letter in the topic (a redone chunk publishes its letters again). */
  copies: number;
}

const asBuffer = (value: IHeaders[string]): Buffer | null => {
  if (value === undefined) return null;
  const first = Array.isArray(value) ? value[0] : value;
  if (first === undefined) return null;
  return Buffer.isBuffer(first) ? first : Buffer.from(first);
};

export function deadLetterView(
  partition: number,
  message: { offset: string; value: Buffer | null; headers?: IHeaders },
): DeadLetterView {
  const headers = message.headers ?? {};
  const text = (name: string): string | null => asBuffer(headers[name])?.toString("utf8") ?? null;
  const sourcePartition = text("dlq.source.partition");
  const other: Record<string, Buffer> = {};
  for (const [name, value] of Object.entries(headers)) {
    const bytes = asBuffer(value);
    if (!name.startsWith("dlq.") && bytes !== null) other[name] = bytes;
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
    headers: Object.fromEntries(Object.entries(letter.headers).map(([k, v]) => [k, v.toString("base64")])),
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
