import { loadConsumerConfig } from "./config.js";
import { startPipeline } from "./runtime/run.js";

/**
 * The consumer process on its own (`npm run consume`): server mode, or embedded when nothing else
 * holds the ClickHouse directory. SIGTERM/SIGINT stop it cleanly; a fatal error exits with 1.
 */
const log = (line: string): void => console.log(`[consumers] ${new Date().toISOString()} ${line}`);

const running = await startPipeline(loadConsumerConfig(), log);
let stopping = false;
const shutdown = async (signal: string): Promise<void> => {
  if (stopping) return;
  stopping = true;
  log(`${signal}: finishing in-flight chunks and closing`);
  await running.close();
  process.exit(0);
};
process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGINT", () => void shutdown("SIGINT"));
const error = await running.pipeline.failed;
log(`stopping after a fatal error: ${error.message}`);
await running.close().catch(() => undefined);
process.exit(1);
