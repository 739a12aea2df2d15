/**
 * Consumer settings a bench run may override from the environment (the `CONSUMER_*` variables of
 * consumers/src/config.ts, e.g. `CONSUMER_CHUNK_MAX_WAIT_MS=200 npm run bench`); the results file
 * names them.
 */
export function consumerOverrides(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(process.env).filter(
      (entry): entry is [string, string] => entry[0].startsWith("CONSUMER_") && entry[1] !== undefined,
    ),
  );
}
