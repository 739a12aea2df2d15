import { readFileSync } from "node:fs";
import path from "node:path";
import { repoRoot } from "../config.js";

/**
 * Pinned versions of the native stack. The Maven poms in scripts/stack/maven are the single source:
 * this reads their <properties> so that a version bump is a one-line pom change.
 */
export const mavenDir = path.join(repoRoot, "scripts", "stack", "maven");

function pomProperty(pom: string, name: string): string {
  const text = readFileSync(path.join(mavenDir, pom), "utf8");
  const match = new RegExp(`<${name.replace(/\./g, "\\.")}>([^<]+)</`).exec(text);
  if (!match?.[1]) throw new Error(`property ${name} missing in ${pom}`);
  return match[1];
}

export interface StackVersions {
  kafka: string;
  debezium: string;
  apicurio: string;
  apicurioConverter: string;
  keycloak: string;
}

export function stackVersions(): StackVersions {
  return {
    kafka: pomProperty("kafka.pom.xml", "kafka.version"),
    debezium: pomProperty("archives.pom.xml", "debezium.version"),
    apicurio: pomProperty("archives.pom.xml", "apicurio.version"),
    apicurioConverter: pomProperty("avro-converter.pom.xml", "apicurio.converter.version"),
    keycloak: pomProperty("keycloak.pom.xml", "keycloak.version"),
  };
}
