import { RegistryClient } from "./registry-client.js";
import { diffSchemas, formatFieldChanges, type FieldChange } from "./schema-diff.js";
import { formatTable } from "./text-table.js";
import { hasTopicPrefix } from "./topic-names.js";

export interface SubjectSummary {
  subject: string;
  /** Every version with its global schema id, oldest first. */
  versions: { version: number; id: number }[];
}

/** `topics schemas`: one subject (exact name) or every subject of the topics under `prefix`. */
export async function listSchemas(
  registryUrl: string,
  options: { prefix: string; subject?: string },
): Promise<SubjectSummary[]> {
  const registry = new RegistryClient(registryUrl);
  const subjects =
    options.subject !== undefined
      ? [options.subject]
      : (await registry.subjects()).filter((s) => hasTopicPrefix(s, options.prefix)).sort();
  const summaries: SubjectSummary[] = [];
  for (const subject of subjects) {
    const versions = [];
    for (const version of (await registry.versions(subject)).sort((a, b) => a - b)) {
      versions.push({ version, id: (await registry.version(subject, version)).id });
    }
    summaries.push({ subject, versions });
  }
  return summaries;
}

export interface SchemaDiff {
  subject: string;
  from: { version: number; id: number };
  to: { version: number; id: number };
  changes: FieldChange[];
}

/** `topics schemas --diff subject v1 v2`: field-level changes from v1 to v2. */
export async function diffSubjectVersions(
  registryUrl: string,
  subject: string,
  from: number | "latest",
  to: number | "latest",
): Promise<SchemaDiff> {
  const registry = new RegistryClient(registryUrl);
  const older = await registry.version(subject, from);
  const newer = await registry.version(subject, to);
  return {
    subject,
    from: { version: older.version, id: older.id },
    to: { version: newer.version, id: newer.id },
    changes: diffSchemas(older.schema, newer.schema),
  };
}

export function formatSchemaList(subjects: readonly SubjectSummary[]): string[] {
  if (subjects.length === 0) return ["no subjects"];
  return formatTable(
    ["SUBJECT", "VERSIONS", "IDS"],
    subjects.map((s) => [
      s.subject,
      s.versions.map((v) => v.version).join(","),
      s.versions.map((v) => v.id).join(","),
    ]),
  );
}

export function formatSchemaDiff(diff: SchemaDiff): string[] {
  return [
    `${diff.subject}: version ${diff.from.version} (id ${diff.from.id}) -> version ${diff.to.version} (id ${diff.to.id})`,
    ...formatFieldChanges(diff.changes).map((line) => `  ${line}`),
  ];
}
