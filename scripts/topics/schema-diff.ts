/**
 * A field-level diff between two Avro schemas, readable for an operator: every field of every
 * record type, keyed `<Record>.<field>` (Debezium's envelope has `Envelope`, the row image `Value`
 * used by both `before` and `after`, `Source`, ...), with its type and default.
 */
type AvroSchema = string | AvroSchema[] | { [key: string]: unknown };

export interface FieldInfo {
  /** `<Record>.<field>`; the record's full name when two records share a short name. */
  field: string;
  /** e.g. `int`, `decimal(10,2)`, `null | string`, `string (io.debezium.time.ZonedTimestamp)`. */
  type: string;
  /** The default as JSON text; absent when the field has none. */
  default?: string;
}

export interface FieldChange {
  change: "added" | "removed" | "changed";
  field: string;
  /** The old field (removed, changed). */
  from?: FieldInfo;
  /** The new field (added, changed). */
  to?: FieldInfo;
}

interface NamedRecord {
  fullName: string;
  shortName: string;
  fields: { name: string; type: AvroSchema; default?: unknown; hasDefault: boolean }[];
}

const isObject = (value: unknown): value is { [key: string]: unknown } =>
  typeof value === "object" && value !== null && !Array.isArray(value);

function fullNameOf(schema: { [key: string]: unknown }, namespace: string | undefined): string {
  const name = String(schema.name);
  if (name.includes(".")) return name;
  const ns = typeof schema.namespace === "string" ? schema.namespace : namespace;
  return ns ? `${ns}.${name}` : name;
}

const shortName = (name: string): string => name.slice(name.lastIndexOf(".") + 1);

/** Describes a type without expanding named records (they are listed on their own). */
export function describeType(schema: AvroSchema): string {
  if (typeof schema === "string") return shortName(schema);
  if (Array.isArray(schema)) return schema.map(describeType).join(" | ");
  const type = schema.type as AvroSchema;
  if (schema.logicalType === "decimal")
    return `decimal(${String(schema.precision)},${String(schema.scale ?? 0)})`;
  if (type === "record" || type === "error" || type === "fixed") return shortName(String(schema.name));
  if (type === "enum")
    return `enum ${shortName(String(schema.name))} {${(schema.symbols as string[]).join(", ")}}`;
  if (type === "array") return `array<${describeType(schema.items as AvroSchema)}>`;
  if (type === "map") return `map<${describeType(schema.values as AvroSchema)}>`;
  const base = describeType(type);
  const annotation =
    typeof schema["connect.name"] === "string"
      ? schema["connect.name"]
      : typeof schema.logicalType === "string"
        ? schema.logicalType
        : undefined;
  return annotation ? `${base} (${annotation})` : base;
}

function collectRecords(
  schema: AvroSchema,
  namespace: string | undefined,
  into: Map<string, NamedRecord>,
): void {
  if (Array.isArray(schema)) {
    for (const member of schema) collectRecords(member, namespace, into);
    return;
  }
  if (!isObject(schema)) return;
  const type = schema.type;
  if (type === "record" || type === "error") {
    const fullName = fullNameOf(schema, namespace);
    if (into.has(fullName)) return;
    const ns = fullName.includes(".") ? fullName.slice(0, fullName.lastIndexOf(".")) : undefined;
    const fields = (schema.fields as { [key: string]: unknown }[]).map((f) => ({
      name: String(f.name),
      type: f.type as AvroSchema,
      default: f.default,
      hasDefault: Object.hasOwn(f, "default"),
    }));
    into.set(fullName, { fullName, shortName: shortName(fullName), fields });
    for (const field of fields) collectRecords(field.type, ns, into);
  } else if (type === "array") {
    collectRecords(schema.items as AvroSchema, namespace, into);
  } else if (type === "map") {
    collectRecords(schema.values as AvroSchema, namespace, into);
  } else if (isObject(type) || Array.isArray(type)) {
    collectRecords(type as AvroSchema, namespace, into);
  }
}

/** Every field of every record type in the schema, in schema order. */
export function schemaFields(schema: unknown): FieldInfo[] {
  const records = new Map<string, NamedRecord>();
  collectRecords(schema as AvroSchema, undefined, records);
  const shortNames = new Map<string, number>();
  for (const record of records.values()) {
    shortNames.set(record.shortName, (shortNames.get(record.shortName) ?? 0) + 1);
  }
  return [...records.values()].flatMap((record) => {
    const owner = (shortNames.get(record.shortName) ?? 0) > 1 ? record.fullName : record.shortName;
    return record.fields.map((f) => ({
      field: `${owner}.${f.name}`,
      type: describeType(f.type),
      ...(f.hasDefault ? { default: JSON.stringify(f.default) } : {}),
    }));
  });
}

/** Added, removed and changed (type or default) fields from `older` to `newer`, in schema order. */
export function diffSchemas(older: unknown, newer: unknown): FieldChange[] {
  const before = new Map(schemaFields(older).map((f) => [f.field, f]));
  const after = new Map(schemaFields(newer).map((f) => [f.field, f]));
  const changes: FieldChange[] = [];
  for (const [field, from] of before) {
    const to = after.get(field);
    if (!to) changes.push({ change: "removed", field, from });
    else if (to.type !== from.type || to.default !== from.default)
      changes.push({ change: "changed", field, from, to });
  }
  for (const [field, to] of after) {
    if (!before.has(field)) changes.push({ change: "added", field, to });
  }
  return changes;
}

const describeField = (f: FieldInfo): string =>
  f.default === undefined ? f.type : `${f.type} = ${f.default}`;

/** `+ Value.note: null | string = null`, `- ...`, `~ Value.amount: decimal(10,2) -> decimal(12,2)`. */
export function formatFieldChanges(changes: readonly FieldChange[]): string[] {
  if (changes.length === 0) return ["no field differences"];
  return changes.map((c) => {
    if (c.change === "added") return `+ ${c.field}: ${describeField(c.to as FieldInfo)}`;
    if (c.change === "removed") return `- ${c.field}: ${describeField(c.from as FieldInfo)}`;
    return `~ ${c.field}: ${describeField(c.from as FieldInfo)} -> ${describeField(c.to as FieldInfo)}`;
  });
}
