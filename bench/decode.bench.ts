import path from "node:path";
import { parseArgs } from "node:util";
import { Kafka, logLevel } from "kafkajs";
import { RecordDecoder, registryClient } from "../consumers/src/runtime/decode.js";
import { loadScriptsConfig, repoRoot } from "../scripts/config.js";
import { appendResults, machineLine } from "./results-file.js";

/**
 * `npm run bench:decode -- --topic <topic> [--records 200000] [--chunk 5000] [--rounds 3]`: the
 * consumer's decode step alone, side by side in one run on the same records read once from Kafka:
 * (a) the way it was (two awaited registry calls per record: getSchema, then decode) and (b)
 * RecordDecoder.decodeChunk (one schema lookup per id per chunk, avsc's fromBuffer synchronously).
 * Rounds alternate a, b. Results: bench/results/decode-<date>.md.
 */
const { values } = parseArgs({
  options: {
    topic: { type: "string", default: "benchapi.telemetry.raw_telemetry" },
    records: { type: "string", default: "200000" },
    chunk: { type: "string", default: "5000" },
    rounds: { type: "string", default: "3" },
  },
});
const log = (line: string): void => console.log(`[bench:decode] ${line}`);
const config = loadScriptsConfig();
const wanted = Number(values.records);
const chunkSize = Number(values.chunk);

async function readRecords(topic: string): Promise<Buffer[]> {
  const kafka = new Kafka({ brokers: config.kafkaBrokers, logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `bench-decode-${process.pid}-${Date.now()}` });
  const values: Buffer[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          autoCommit: false,
          eachBatch: async ({ batch }) => {
            for (const m of batch.messages) if (m.value && values.length < wanted) values.push(m.value);
            if (values.length >= wanted) resolve();
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return values;
}

log(`reading ${wanted} records of ${values.topic}`);
const records = await readRecords(values.topic);
log(
  `${records.length} records, ${Math.round(records.reduce((n, b) => n + b.length, 0) / records.length)} bytes each`,
);

const registry = registryClient(config.registryUrl);
async function before(): Promise<number> {
  let n = 0;
  for (const buffer of records) {
    await registry.getSchema(buffer.readInt32BE(1));
    if (await registry.decode(buffer)) n += 1;
  }
  return n;
}
const decoder = new RecordDecoder(config.registryUrl);
async function after(): Promise<number> {
  let n = 0;
  for (let i = 0; i < records.length; i += chunkSize) {
    for (const d of await decoder.decodeChunk(records.slice(i, i + chunkSize))) if (d) n += 1;
  }
  return n;
}
// Warm both (schemas fetched, JIT) before timing.
await before();
await after();
const rows: string[] = [];
const perRecord = { before: [] as number[], after: [] as number[] };
for (let round = 1; round <= Number(values.rounds); round += 1) {
  for (const [name, run] of [
    ["before", before],
    ["after", after],
  ] as const) {
    const started = performance.now();
    const decoded = await run();
    const ms = performance.now() - started;
    const us = (ms * 1000) / records.length;
    perRecord[name].push(us);
    rows.push(
      `| ${round} | ${name} | ${decoded} | ${ms.toFixed(0)} | ${us.toFixed(2)} | ${Math.round(records.length / (ms / 1000))} |`,
    );
    log(rows.at(-1) as string);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const ratio = median(perRecord.before) / median(perRecord.after);
const file = appendResults("decode", "Decode benchmarks", `Run ${new Date().toISOString()}`, [
  `- command: \`npm run bench:decode -- ${process.argv.slice(2).join(" ")}\``,
  `- machine: ${machineLine()}`,
  `- records: ${records.length} of ${values.topic}; (b) in chunks of ${chunkSize}`,
  `- (a) before: per record \`await registry.getSchema(id)\` + \`await registry.decode(buffer)\`; (b) after: \`RecordDecoder.decodeChunk\``,
  `- median per record: before ${median(perRecord.before).toFixed(2)} µs, after ${median(perRecord.after).toFixed(2)} µs: **${ratio.toFixed(2)}x**`,
  "",
  "| round | way | decoded | ms | µs/record | records/s |",
  "|---|---|---|---|---|---|",
  ...rows,
]);
log(`before/after per record: ${ratio.toFixed(2)}x; results appended to ${path.relative(repoRoot, file)}`);
