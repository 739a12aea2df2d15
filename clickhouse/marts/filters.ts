/** Optional restriction of a mart query to some users and/or prostheses (empty = all). */
export interface DeviceFilter {
  userIds?: readonly number[];
  prostheticIds?: readonly number[];
}

export function filterParams(filter: DeviceFilter = {}): { user_ids: number[]; prosthetic_ids: number[] } {
  return { user_ids: [...(filter.userIds ?? [])], prosthetic_ids: [...(filter.prostheticIds ?? [])] };
}

/** The prostheses (current dimension) a filter selects, as a subquery of dim_prosthetics. */
export function selectedDevices(db: string): string {
  return `(SELECT prosthetic_id, user_id, chip_id, prosthetic_uuid, device_type, model
     FROM ${db}.dim_prosthetics FINAL
     WHERE (empty({user_ids:Array(Int32)}) OR has({user_ids:Array(Int32)}, user_id))
       AND (empty({prosthetic_ids:Array(Int32)}) OR has({prosthetic_ids:Array(Int32)}, prosthetic_id)))`;
}
