import { appendFileSync, mkdirSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { loadApiConfig } from "../api/config.js";
import { startApi } from "../api/start.js";
import { createClickHouseClient } from "../clickhouse/client.js";
import { DEMO_USERS } from "../keycloak/realm.js";
import { repoRoot } from "../scripts/config.js";
import { simulate } from "../scripts/simulate/index.js";
import { keycloakLogin, launchChromium } from "../test/harness/browser.js";
import { openPipelineRun, sourceQuery, waitForDrain } from "../test/harness/pipeline.js";

/**
 * End-to-end freshness as a user sees it: PostgreSQL COMMIT of a payment -> the month total changed
 * in the dashboard page in headless Chromium (Debian's chromium), while `simulate` streams changes at
 * --rate per second. Uses the running stack like the tests (services from KAFKA_BROKERS, CONNECT_URL,
 * SCHEMA_REGISTRY_URL, PGHOST/PGPORT and KEYCLOAK_URL, or the defaults); its own databases, topics
 * and ClickHouse directory. The consumers run in this process and the app (API + BFF + page) on its
 * own chDB connection, as in `npm start`.
 *
 *   npm run bench:dashboard -- [--probes 50] [--rate 1000] [--gap-ms 500]
 *
 * One probe: INSERT … COMMIT of a 0.01-step payment of CRM user 1, whom `simulate` leaves alone so
 * that the page's exact new total is known (the time taken after the commit
 * returned), then the page's total is watched every animation frame until it shows the new sum.
 * Results are appended to bench/results/dashboard-<date>.md.
 */
const { values } = parseArgs({
  options: {
    probes: { type: "string", default: "50" },
    rate: { type: "string", default: "1000" },
    "gap-ms": { type: "string", default: "500" },
  },
});
const probes = Number(values.probes);
const rate = Number(values.rate);
const gapMs = Number(values["gap-ms"]);
const say = (line: string) => console.log(`[bench:dashboard] ${new Date().toISOString()} ${line}`);

const pr = await openPipelineRun({ telemetryDensity: 0.02 });
const abort = new AbortController();
try {
  const tp = await pr.startPipeline();
  say("demo data generated, connectors started; waiting for the snapshot to drain");
  await waitForDrain(pr.run, pr.config.group, { pipelines: [tp] });
  const api = await startApi({
    config: loadApiConfig({
      CLICKHOUSE_PATH: pr.dataDir,
      CLICKHOUSE_DATABASE: pr.database,
      BIONICPRO_API_PORT: "0",
      BIONICPRO_API_LOG_LEVEL: "warn",
    }),
    clickhouse: () => createClickHouseClient(pr.config.clickhouse),
    appliedChunks: tp.pipeline.applied,
  });
  const browser = await launchChromium();
  try {
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${api.url}/`);
    await page.locator("#login").click();
    await keycloakLogin(page, DEMO_USERS.owner1.username, DEMO_USERS.owner1.password);
    await page.waitForFunction(
      () => document.querySelector('[data-kpi="total_payments"]')?.textContent !== "—",
    );
    const total = async () =>
      Number(
        ((await page.locator('[data-kpi="total_payments"]').textContent()) ?? "").replace(/[^0-9.-]/g, ""),
      );
    const [sub] = await sourceQuery<{ subscription_id: number }>(
      pr.run,
      "crm",
      "SELECT subscription_id FROM crm_subscriptions WHERE user_id = 1 ORDER BY subscription_id LIMIT 1",
    );

    const waitForTotal = (e: number) =>
      page.waitForFunction(
        (want) =>
          Number(
            (document.querySelector('[data-kpi="total_payments"]')?.textContent ?? "").replace(
              /[^0-9.-]/g,
              "",
            ),
          ) === want,
        e,
        { polling: "raf", timeout: 120_000 },
      );
    say(`simulate --rate ${rate} running; ${probes} probes, ${gapMs} ms apart`);
    const load = simulate({ ...pr.run.dbs, rate, seed: 7, signal: abort.signal, spareUsers: [1] }).catch(
      () => undefined,
    );
    await new Promise((r) => setTimeout(r, 5000));
    const samples: number[] = [];
    let expected = await total();
    for (let i = 1; i <= probes; i += 1) {
      expected = Math.round((expected + 0.01 * i) * 100) / 100;
      await sourceQuery(
        pr.run,
        "crm",
        `INSERT INTO crm_payments (payment_id, user_id, subscription_id, payment_date, amount, payment_method, status, description, created_at)
         VALUES ($1, 1, $2, now(), $3, 'card', 'success', 'freshness probe', now())`,
        [990_000_000 + i, sub?.subscription_id, (0.01 * i).toFixed(2)],
      );
      const committed = Date.now();
      await waitForTotal(expected).catch(async (error: unknown) => {
        // What the page was showing, for the report of a probe that never arrived.
        const shown = await page.evaluate(() => ({
          total: document.querySelector('[data-kpi="total_payments"]')?.textContent,
          connection: document.getElementById("connection")?.dataset.state,
          updatedMsAgo: Date.now() - Number(document.body.dataset.updatedAt ?? 0),
        }));
        say(
          `probe ${i}: expected ${expected}, page ${JSON.stringify(shown)}; consumer ${JSON.stringify(tp.pipeline.stats)}`,
        );
        throw error;
      });
      samples.push(Date.now() - committed);
      if (i % 10 === 0) say(`${i}/${probes}: last ${samples.at(-1)} ms`);
      await new Promise((r) => setTimeout(r, gapMs));
    }
    abort.abort();
    await load;
    const sorted = [...samples].sort((a, b) => a - b);
    const pct = (p: number) =>
      sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
    const line =
      `| ${new Date().toISOString()} | ${rate} | ${probes} | ${pct(50)} | ${pct(95)} | ${sorted[0]} | ${sorted.at(-1)} | ` +
      `${pr.config.chunkQuietMs} / ${pr.config.chunkMaxWaitMs} |`;
    say(`p50 ${pct(50)} ms, p95 ${pct(95)} ms, min ${sorted[0]} ms, max ${sorted.at(-1)} ms`);
    const dir = path.join(repoRoot, "bench", "results");
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `dashboard-${new Date().toISOString().slice(0, 10)}.md`);
    appendFileSync(
      file,
      `\n## PostgreSQL commit -> figure changed in the page (headless Chromium), simulate --rate ${rate}\n\n` +
        "| at | rate/s | probes | p50 ms | p95 ms | min ms | max ms | chunk quiet / max wait ms |\n|---|---|---|---|---|---|---|---|\n" +
        `${line}\n\nsamples (ms): ${samples.join(", ")}\n`,
    );
    say(`written to ${path.relative(repoRoot, file)}`);
  } finally {
    await browser.close();
    await api.close();
  }
} catch (error) {
  // Reported before the cleanup below, which cannot then hide it.
  console.error(`[bench:dashboard] failed: ${(error as Error).stack ?? String(error)}`);
  process.exitCode = 1;
} finally {
  abort.abort();
  await pr.close();
}
