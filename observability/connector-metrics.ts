import { Counter, type Registry } from "prom-client";
import { METRIC_PREFIX } from "./registry.js";

/**
 * `bionicpro_connector_restarts_total{connector}`: restarts of a FAILED Debezium connector or task
 * that this process's supervisor asked Kafka Connect for (connectors/apply.ts superviseConnectors),
 * read from its count on each scrape. Every connector starts at 0, so increase() sees the first one.
 */
export function registerConnectorRestarts(
  registry: Registry,
  connectors: readonly string[],
  restarts: ReadonlyMap<string, number>,
): void {
  const counted = new Map<string, number>();
  new Counter({
    name: `${METRIC_PREFIX}connector_restarts_total`,
    help: "Restarts of a FAILED Debezium connector or task asked of Kafka Connect by this process's supervisor, per connector",
    labelNames: ["connector"],
    registers: [registry],
    collect() {
      for (const connector of connectors) {
        const total = restarts.get(connector) ?? 0;
        this.inc({ connector }, total - (counted.get(connector) ?? 0));
        counted.set(connector, total);
      }
    },
  });
}
