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
