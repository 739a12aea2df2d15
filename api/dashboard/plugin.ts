import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import fastifyStatic from "@fastify/static";
import type { FastifyInstance } from "fastify";

const publicDir = path.join(path.dirname(fileURLToPath(import.meta.url)), "public");
/** Chart.js' self-contained UMD build, served from node_modules (no CDN). */
const chartJs = path.join(
  path.dirname(createRequire(import.meta.url).resolve("chart.js")),
  "chart.umd.min.js",
);

/**
 * The dashboard page's policy: its own scripts, styles and fetch/EventSource calls only; no inline
 * code, no other origin, no framing, no plugins. Chart.js draws on canvas and sets styles through
 * the CSSOM, which style-src does not restrict.
 */
export const dashboardCsp = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

/** GET / (the page), /dashboard/* (its module and styles), /dashboard/vendor/chart.umd.min.js. */
export async function dashboardPlugin(app: FastifyInstance): Promise<void> {
  app.addHook("onSend", async (_request, reply) => {
    reply.header("content-security-policy", dashboardCsp);
    reply.header("referrer-policy", "no-referrer");
  });
  await app.register(fastifyStatic, {
    root: publicDir,
    prefix: "/dashboard/",
    index: false,
    cacheControl: false,
  });
  app.get("/", { schema: { hide: true } }, async (_request, reply) =>
    reply.header("cache-control", "no-store").sendFile("index.html"),
  );
  const chart = await readFile(chartJs);
  app.get("/dashboard/vendor/chart.umd.min.js", { schema: { hide: true } }, async (_request, reply) =>
    reply.type("text/javascript; charset=utf-8").header("cache-control", "public, max-age=3600").send(chart),
  );
}
