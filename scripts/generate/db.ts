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
  // A connection the server drops while it is idle (a restart, pg_terminate_backend) is reported as
  // an 'error' event, which would end the process without a listener; the next query fails instead.
  client.on("error", () => undefined);
  await client.connect();
  return client;
}
