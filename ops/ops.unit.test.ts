import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { Kafka, logLevel } from "kafkajs";
import Fastify from "fastify";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { registerConsumerLag } from "../observability/consumer-lag.js";
import { registerFreshness } from "../observability/freshness-metrics.js";
import { instrumentRequests } from "../observability/http-metrics.js";
import { PipelineMetrics } from "../observability/pipeline-metrics.js";
import { createMetricsRegistry } from "../observability/registry.js";
import { registerSlotLag } from "../observability/slot-lag.js";
import { repoRoot } from "../scripts/config.js";

const read = (file: string) => readFileSync(path.join(repoRoot, file), "utf8");

interface Compose {
  services: Record<
    string,
    { image: string; profiles?: string[]; network_mode?: string; volumes?: string[]; command?: string[] }
  >;
}

/** Every metric name the processes register (all collectors, none run: nothing is read). */
function registeredNames(): Set<string> {
  const registry = createMetricsRegistry();
  new PipelineMetrics(registry, ["t"], () => true);
  registerConsumerLag(registry, {
    kafka: new Kafka({ brokers: ["127.0.0.1:1"], logLevel: logLevel.NOTHING }),
    group: "g",
    topics: ["t"],
    timeoutMs: 1,
  });
  registerSlotLag(registry, { pg: { host: "127.0.0.1", port: 1, user: "u" }, slots: ["s"], timeoutMs: 1 });
  registerFreshness(registry, {
    read: async () => ({ sources: [], dataAsOf: null, lagSeconds: null }),
    timeoutMs: 1,
  });
  instrumentRequests(Fastify(), registry);
  return new Set(registry.getMetricsAsArray().map((m) => m.name));
}

describe("docker-compose observability services", () => {
  const compose = parse(read("docker-compose.yml")) as Compose;

  it("runs prometheus and grafana under the observability profile, on the host network, with files from the repo", () => {
    for (const name of ["prometheus", "grafana"]) {
      const service = compose.services[name];
      expect(service, name).toBeDefined();
      expect(service?.profiles).toEqual(["observability"]);
      expect(service?.network_mode).toBe("host");
      for (const volume of service?.volumes ?? []) {
        const host = volume.split(":")[0] as string;
        expect(existsSync(path.join(repoRoot, host)), volume).toBe(true);
      }
    }
    expect(compose.services.prometheus?.command).toContain("--config.file=/etc/prometheus/prometheus.yml");
    expect(compose.services.prometheus?.volumes).toEqual([
      "./ops/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro",
    ]);
    // Every other service has no profile: the test harness's `compose up` starts them as before.
    const unprofiled = Object.entries(compose.services)
      .filter(([, s]) => !s.profiles)
      .map(([n]) => n)
      .sort();
    expect(unprofiled).toEqual(["clickhouse", "connect", "kafka", "keycloak", "postgres", "registry"]);
  });
});

describe("ops/prometheus/prometheus.yml", () => {
  it("scrapes the API (npm start) and the consumers' own port", () => {
    const config = parse(read("ops/prometheus/prometheus.yml")) as {
      scrape_configs: { job_name: string; metrics_path: string; static_configs: { targets: string[] }[] }[];
    };
    expect(
      config.scrape_configs.map((c) => [c.job_name, c.metrics_path, c.static_configs[0]?.targets]),
    ).toEqual([
      ["bionicpro-api", "/metrics", ["127.0.0.1:18000"]],
      ["bionicpro-consumers", "/metrics", ["127.0.0.1:18001"]],
    ]);
  });
});

describe("Grafana", () => {
  const dashboard = JSON.parse(read("ops/grafana/dashboards/bionicpro.json")) as {
    uid: string;
    panels: { id: number; title: string; datasource: { uid: string }; targets: { expr: string }[] }[];
  };
  const datasources = parse(read("ops/grafana/provisioning/datasources/prometheus.yml")) as {
    datasources: { uid: string; url: string }[];
  };

  it("provisions the Prometheus datasource the dashboard's panels use", () => {
    expect(datasources.datasources.map((d) => [d.uid, d.url])).toEqual([
      ["bionicpro-prometheus", "http://127.0.0.1:19090"],
    ]);
    expect(new Set(dashboard.panels.map((p) => p.datasource.uid))).toEqual(new Set(["bionicpro-prometheus"]));
    expect(new Set(dashboard.panels.map((p) => p.id)).size).toBe(dashboard.panels.length);
  });

  it("has the panels operators need, querying only metrics the code registers", () => {
    expect(dashboard.panels.map((p) => p.title)).toEqual([
      "Consumer lag (records)",
      "Changes and records per second",
      "Chunk apply latency",
      "Freshness (now - data_as_of)",
      "Dead letters, retries, crash repairs (per 5 min)",
      "Replication slot lag",
      "API p99 by route",
      "Process memory (RSS)",
      "Collector errors (per 5 min)",
      "Consumer running",
      "Event loop lag p99",
    ]);
    const known = registeredNames();
    const used = dashboard.panels.flatMap((p) =>
      p.targets.flatMap((t) => [...t.expr.matchAll(/bionicpro_[a-z0-9_]+/g)].map((m) => m[0])),
    );
    const unknown = used
      .map((name) => name.replace(/_(bucket|count|sum)$/, ""))
      .filter((name) => !known.has(name));
    expect(unknown).toEqual([]);
    expect(used).toContain("bionicpro_replication_slot_lag_bytes");
    expect(used).toContain("bionicpro_http_request_duration_seconds_bucket");
  });
});
