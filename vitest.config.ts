import { defineConfig } from "vitest/config";
import LongestFirstSequencer from "./test/harness/sequencer.js";

/**
 * Integration test files that stop or break a part of the stack every other test uses: Kafka Connect
 * SIGKILLed (exact-sources), the schema registry stopped (chaos, connector-restart), the whole stack
 * down and up (cdc). They run alone, after everything else.
 */
const STACK_EXCLUSIVE = [
  "test/cdc.int.test.ts",
  "test/chaos.int.test.ts",
  "test/connector-restart.int.test.ts",
  "test/exact-sources.int.test.ts",
];

const integration = {
  include: ["**/*.int.test.ts"],
  exclude: ["node_modules/**", ".state/**"],
  globalSetup: ["test/harness/global-setup.ts"],
  testTimeout: 180_000,
  hookTimeout: 600_000,
};

// Three projects. `unit` needs no network. `integration` talks to the real stack (the harness in
// test/harness finds or starts it once for the whole run); each file has its own databases, topics,
// connectors, consumer group and ClickHouse directory, so two files run at once (most of a file is
// waiting: on Debezium, Kafka, a stream at a fixed rate, a restarted process). `integration-exclusive`
// then runs the files above one at a time.
export default defineConfig({
  test: {
    sequence: { sequencer: LongestFirstSequencer },
    projects: [
      {
        test: {
          name: "unit",
          include: ["**/*.unit.test.ts"],
          exclude: ["node_modules/**", ".state/**"],
          maxWorkers: 2,
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          name: "integration",
          ...integration,
          exclude: [...integration.exclude, ...STACK_EXCLUSIVE],
          maxWorkers: 2,
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          name: "integration-exclusive",
          ...integration,
          include: STACK_EXCLUSIVE,
          maxWorkers: 1,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
