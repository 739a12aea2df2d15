import type { Command } from "commander";
import { runChaos } from "./run.js";
import { SCENARIOS } from "./scenarios.js";

/** `chaos [--quick] [--scenario name...] [--rate n]`: exit 1 when any scenario ends with differences. */
export function registerChaosCommand(program: Command): void {
  program
    .command("chaos")
    .description(
      "scripted faults during a live simulate stream, each ended by reconcile; summary in bench/results/chaos-<date>.md",
    )
    .option("--quick", "the CI variant: fewer scenarios, shorter faults")
    .option("--scenario <names...>", `run only these: ${SCENARIOS.map((s) => s.name).join(", ")}`)
    .option("--rate <n>", "changes per second of the live stream", "500")
    .option("--no-report", "do not write bench/results")
    .action(async (options: { quick?: boolean; scenario?: string[]; rate: string; report: boolean }) => {
      const rate = Number(options.rate);
      if (!Number.isInteger(rate) || rate <= 0) throw new Error("--rate must be a positive integer");
      const summary = await runChaos({
        quick: options.quick ?? false,
        ...(options.scenario ? { scenarios: options.scenario } : {}),
        rate,
        report: options.report,
      });
      console.log(
        summary.ok ? "chaos: zero differences in every scenario" : "chaos: DIFFERENCES (see above)",
      );
      if (summary.reportFile) console.log(`summary: ${summary.reportFile}`);
      if (!summary.ok) process.exitCode = 1;
    });
}
