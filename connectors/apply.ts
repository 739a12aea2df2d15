import { setTimeout as sleep } from "node:timers/promises";

/** Kafka Connect REST: create-or-update a connector and wait until it and its task run. */
export class ConnectorError extends Error {
  readonly code = "CONNECTOR_FAILED";
  constructor(message: string) {
    super(message);
    this.name = "ConnectorError";
  }
}

interface ConnectorStatus {
  connector: { state: string; trace?: string };
  tasks: { id: number; state: string; trace?: string }[];
}

async function request(method: string, url: string, body?: unknown): Promise<Response> {
  return fetch(url, {
    method,
    headers: { "content-type": "application/json", accept: "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(30_000),
  });
}

export async function putConnector(
  connectUrl: string,
  name: string,
  config: Record<string, string>,
): Promise<void> {
  const response = await request(
    "PUT",
    `${connectUrl}/connectors/${encodeURIComponent(name)}/config`,
    config,
  );
  if (!response.ok) {
    throw new ConnectorError(
      `Kafka Connect refused connector ${name}: ${response.status} ${await response.text()}`,
    );
  }
  await response.arrayBuffer().catch(() => undefined);
}

export async function connectorStatus(
  connectUrl: string,
  name: string,
): Promise<ConnectorStatus | undefined> {
  const response = await request("GET", `${connectUrl}/connectors/${encodeURIComponent(name)}/status`);
  if (response.status === 404) return undefined;
  if (!response.ok)
    throw new ConnectorError(`status of ${name}: ${response.status} ${await response.text()}`);
  return (await response.json()) as ConnectorStatus;
}

export async function waitForConnectorRunning(
  connectUrl: string,
  name: string,
  timeoutMs = 120_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: ConnectorStatus | undefined;
  while (Date.now() < deadline) {
    last = await connectorStatus(connectUrl, name);
    const failed = [last?.connector, ...(last?.tasks ?? [])].find((s) => s?.state === "FAILED");
    if (failed)
      throw new ConnectorError(`connector ${name} FAILED: ${failed.trace?.split("\n")[0] ?? "no trace"}`);
    if (
      last?.connector.state === "RUNNING" &&
      last.tasks.length > 0 &&
      last.tasks.every((t) => t.state === "RUNNING")
    ) {
      return;
    }
    await sleep(500);
  }
  throw new ConnectorError(
    `connector ${name} not RUNNING after ${timeoutMs / 1000}s: ${JSON.stringify(last)}`,
  );
}

export async function deleteConnector(connectUrl: string, name: string): Promise<void> {
  const response = await request("DELETE", `${connectUrl}/connectors/${encodeURIComponent(name)}`);
  if (!response.ok && response.status !== 404) {
    throw new ConnectorError(`delete ${name}: ${response.status} ${await response.text()}`);
  }
  await response.arrayBuffer().catch(() => undefined);
}

export async function listConnectors(connectUrl: string): Promise<string[]> {
  const response = await request("GET", `${connectUrl}/connectors`);
  if (!response.ok) throw new ConnectorError(`list connectors: ${response.status}`);
  return (await response.json()) as string[];
}

/** What `superviseConnectors` did, for logs, metrics and tests. */
export interface ConnectorSupervisor {
  /** Restarts asked of Kafka Connect so far, per connector. */
  readonly restarts: ReadonlyMap<string, number>;
  stop(): Promise<void>;
}

const RESTART_BACKOFF_MAX_MS = 300_000;

/**
 * Restarts the named connectors' FAILED tasks (and a FAILED connector), as an operator would:
 * Kafka Connect never restarts a failed task by itself. A task fails for good on an error it cannot
 * retry — the schema registry down when a new schema must be registered, or a registry connection
 * closed under a request — while the source it reads is fine again moments later; the restarted
 * task resumes from its last committed offset and the consumers drop what it emits twice. Each
 * connector waits `intervalMs` before its first restart and twice as long before each next one
 * (at most 5 minutes) while it keeps failing; a run of RUNNING resets that. A Connect that does
 * not answer (restarting, say) is skipped until it does.
 */
export function superviseConnectors(
  connectUrl: string,
  names: () => readonly string[],
  options: { intervalMs?: number; log: (line: string) => void },
): ConnectorSupervisor {
  const intervalMs = options.intervalMs ?? 5_000;
  const restarts = new Map<string, number>();
  const backoff = new Map<string, { delayMs: number; notBefore: number }>();
  let stopped = false;
  let wake: (() => void) | undefined;

  const check = async (name: string): Promise<void> => {
    const status = await connectorStatus(connectUrl, name);
    if (!status) return;
    const failed = [status.connector, ...status.tasks].filter((s) => s.state === "FAILED");
    if (failed.length === 0) {
      if ([status.connector, ...status.tasks].every((s) => s.state === "RUNNING")) backoff.delete(name);
      return;
    }
    const now = Date.now();
    const wait = backoff.get(name) ?? { delayMs: intervalMs, notBefore: now + intervalMs };
    if (!backoff.has(name)) backoff.set(name, wait);
    if (now < wait.notBefore) return;
    const response = await request(
      "POST",
      `${connectUrl}/connectors/${encodeURIComponent(name)}/restart?includeTasks=true&onlyFailed=true`,
    );
    await response.arrayBuffer().catch(() => undefined);
    if (!response.ok) {
      options.log(`connector ${name}: restart refused (${response.status}); trying again later`);
    } else {
      const count = (restarts.get(name) ?? 0) + 1;
      restarts.set(name, count);
      const reason = failed[0]?.trace?.split("\n")[0] ?? "no trace";
      options.log(`connector ${name}: FAILED (${reason}); restart ${count} asked`);
    }
    const delayMs = Math.min(wait.delayMs * 2, RESTART_BACKOFF_MAX_MS);
    backoff.set(name, { delayMs, notBefore: now + wait.delayMs });
  };

  const loop = (async () => {
    while (!stopped) {
      for (const name of names()) {
        if (stopped) break;
        await check(name).catch(() => undefined);
      }
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, intervalMs).unref();
      });
    }
  })();

  return {
    restarts,
    async stop() {
      stopped = true;
      wake?.();
      await loop;
    },
  };
}
