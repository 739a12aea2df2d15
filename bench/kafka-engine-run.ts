import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createClickHouseClient } from "../clickhouse/client.js";
import { runKafkaEngine, type KafkaEngineJob, type KafkaEngineReport } from "./kafka-engine.js";

/**
 * The Kafka engine baseline's own process (started by measureKafkaEngine in bench/kafka-engine.ts):
 * argv[2] is the job as JSON; progress goes to stdout as lines, the report as the last JSON line.
 */
const job = JSON.parse(process.argv[2] ?? "") as KafkaEngineJob;
const dir = mkdtempSync(path.join(os.tmpdir(), "bench-kafka-engine-"));
const client = createClickHouseClient({ path: dir, database: job.database });
try {
  const version = await client.query({ query: "SELECT version() AS v", format: "JSONEachRow" });
  const [row] = await version.json<{ v: string }>();
  const cpu = process.cpuUsage();
  const result = await runKafkaEngine({ ...job, client, log: (line) => console.log(line) });
  const used = process.cpuUsage(cpu);
  const report: KafkaEngineReport = {
    ...result,
    cpuS: (used.user + used.system) / 1e6,
    // maxRSS is in KiB on Linux, over the process's life: here, the engine's run.
    peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
    clickhouseVersion: row?.v ?? "unknown",
  };
  console.log(JSON.stringify(report));
} catch (error) {
  console.error(`[kafka-engine] failed: ${(error as Error).stack ?? String(error)}`);
  process.exitCode = 1;
} finally {
  await client.close();
  rmSync(dir, { recursive: true, force: true });
}
