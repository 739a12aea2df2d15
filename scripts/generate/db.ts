import pg from "pg";
import type { PgEndpoint } from "../config.js";

/** One connection to `database`; the caller ends it. */
export async function connect(
  endpoint: PgEndpoint,
  database: string,
  applicationName: string,
): Promise<pg.Client> {
  const client = new pg.Client({
    host: endpoint.host,
    port: endpoint.port,
    user: endpoint.user,
    password: endpoint.password,
    database,
    application_name: applicationName,
  });
  await client.connect();
  return client;
}
