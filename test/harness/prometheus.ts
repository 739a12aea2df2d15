import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { parse, stringify } from "yaml";
import { repoRoot } from "../../scripts/config.js";

/**
 * A real Prometheus (Debian's `prometheus`, installed by scripts/stack/host-packages.sh) scraping a
 * test's process with the repo's own scrape job (ops/prometheus/prometheus.yml), only its target,
 * interval and credentials changed for the test.
 */
export interface RunningPrometheus {
  url: string;
  /** An instant query: the result vector (empty when the expression selects nothing). */
  query(expr: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]>;
  stop(): Promise<void>;
}

interface ScrapeConfig {
  job_name: string;
  static_configs: { targets: string[] }[];
  scrape_interval?: string;
  authorization?: { type: string; credentials_file: string };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

export async function startPrometheus(options: {
  job: string;
  target: string;
  bearerToken?: string;
}): Promise<RunningPrometheus> {
  if (spawnSync("prometheus", ["--version"], { stdio: "ignore" }).status !== 0)
    throw new Error("prometheus not found: install Debian's package (bash scripts/stack/host-packages.sh)");
  const repoConfig = parse(readFileSync(path.join(repoRoot, "ops/prometheus/prometheus.yml"), "utf8")) as {
    scrape_configs: ScrapeConfig[];
  };
  const job = repoConfig.scrape_configs.find((c) => c.job_name === options.job);
  if (!job) throw new Error(`ops/prometheus/prometheus.yml has no job ${options.job}`);
  const dir = mkdtempSync(path.join(tmpdir(), "bionicpro-prometheus-"));
  const scrape: ScrapeConfig = {
    ...job,
    static_configs: [{ targets: [options.target] }],
    scrape_interval: "1s",
  };
  if (options.bearerToken !== undefined) {
    const tokenFile = path.join(dir, "token");
    writeFileSync(tokenFile, options.bearerToken, { mode: 0o600 });
    scrape.authorization = { type: "Bearer", credentials_file: tokenFile };
  }
  const configFile = path.join(dir, "prometheus.yml");
  writeFileSync(
    configFile,
    stringify({ global: { scrape_interval: "1s", evaluation_interval: "1s" }, scrape_configs: [scrape] }),
  );
  const port = await freePort();
  const child: ChildProcess = spawn(
    "prometheus",
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${path.join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      child.kill("SIGTERM");
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`prometheus exited ${child.exitCode}: ${stderr}`);
    const ready = await fetch(`${url}/-/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`prometheus not ready after 30 s: ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url,
    async query(expr) {
      const response = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`);
      const body = (await response.json()) as {
        status: string;
        error?: string;
        data?: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] };
      };
      if (body.status !== "success") throw new Error(`${expr}: ${body.error ?? response.status}`);
      return body.data?.result ?? [];
    },
    stop,
  };
}
