#!/usr/bin/env -S npx tsx
import { Command, CommanderError } from "commander";
import { registerStackCommands } from "./stack/command.js";

/** One operator CLI: `npm run cli -- <command>`; npm scripts alias the common ones. */
const program = new Command("bionicpro")
  .description("BionicPRO live reports: operator and developer commands")
  .showHelpAfterError()
  .exitOverride();

registerStackCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    process.exitCode = error.exitCode === 0 ? 0 : 2;
  } else {
    const coded = error as { code?: string; message?: string };
    console.error(`error${coded.code ? ` [${coded.code}]` : ""}: ${coded.message ?? String(error)}`);
    process.exitCode = 1;
  }
}
