/**
 * Which rows a mart query reads. Every user is selected only when asked for by name
 * (`allUsers`: staff-wide reads and reconcile); a list selects exactly its members, so an empty
 * list selects nobody. There is no "empty filter = everything" anywhere in the query layer.
 */
export type UserSelection =
  { readonly kind: "all" } | { readonly kind: "users"; readonly userIds: readonly number[] };

/** User-level selections, or some prostheses by id (device marts only). */
export type DeviceSelection =
  UserSelection | { readonly kind: "prosthetics"; readonly prostheticIds: readonly number[] };

export const allUsers: UserSelection = Object.freeze({ kind: "all" });

export const onlyUsers = (userIds: readonly number[]): UserSelection => ({ kind: "users", userIds });

export const onlyProsthetics = (prostheticIds: readonly number[]): DeviceSelection => ({
  kind: "prosthetics",
  prostheticIds,
});

const int32 = (id: number) => Number.isInteger(id) && id >= -2_147_483_648 && id <= 2_147_483_647;

function ids(list: readonly number[], what: string): number[] {
  const bad = list.find((id) => !int32(id));
  if (bad !== undefined) throw new RangeError(`${what} must be 32-bit integers, got ${bad}`);
  return [...list];
}

/** A SQL condition over `user_id` / `prosthetic_id` columns for the selection (bound by selectionParams). */
export function selectionCondition(selection: DeviceSelection): string {
  switch (selection.kind) {
    case "all":
      return "1";
    case "users":
      return "user_id IN {user_ids:Array(Int32)}";
    case "prosthetics":
      return "prosthetic_id IN {prosthetic_ids:Array(Int32)}";
  }
}

export function selectionParams(selection: DeviceSelection): Record<string, number[]> {
  switch (selection.kind) {
    case "all":
      return {};
    case "users":
      return { user_ids: ids(selection.userIds, "user ids") };
    case "prosthetics":
      return { prosthetic_ids: ids(selection.prostheticIds, "prosthetic ids") };
  }
}

/** The prostheses (current dimension) a selection reads: a query of dim_prosthetics. */
export function selectedDevicesQuery(db: string, selection: DeviceSelection): string {
  return `SELECT prosthetic_id, user_id, chip_id, prosthetic_uuid, device_type, model
     FROM ${db}.dim_prosthetics FINAL
     WHERE ${selectionCondition(selection)}`;
}

/** `selectedDevicesQuery` as a parenthesised subquery. */
export const selectedDevices = (db: string, selection: DeviceSelection): string =>
  `(${selectedDevicesQuery(db, selection)})`;
