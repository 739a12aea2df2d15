/**
 * Settings of `ml-access apply`, read from the environment once, here and nowhere else.
 *
 * - `BIONICPRO_ML_CLICKHOUSE_PASSWORD`: the password of the server-mode user `ml_engineer`. Never a
 *   command-line flag (flags end up in shell history and process lists), never committed; only its
 *   salted SHA-256 reaches ClickHouse or the printed SQL. Non-enumerable on the returned object.
 *   @default unset (`--print` shows placeholders; `apply` refuses)
 */
export interface MlAccessConfig {
  password?: string;
}

export function loadMlAccessConfig(env: NodeJS.ProcessEnv = process.env): MlAccessConfig {
  const config: MlAccessConfig = {};
  const password = env.BIONICPRO_ML_CLICKHOUSE_PASSWORD;
  if (password !== undefined && password !== "") {
    Object.defineProperty(config, "password", { value: password, enumerable: false });
  }
  return config;
}
