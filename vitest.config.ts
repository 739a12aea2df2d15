import { defineConfig } from "vitest/config";

// Two projects: `unit` needs no network; `integration` talks to the real stack
// (the harness in test/harness finds or starts it once for the whole run).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["**/*.unit.test.ts"],
          exclude: ["node_modules/**", ".state/**"],
        },
      },
      {
        test: {
          name: "integration",
          include: ["**/*.int.test.ts"],
          exclude: ["node_modules/**", ".state/**"],
          globalSetup: ["test/harness/global-setup.ts"],
          testTimeout: 180_000,
          hookTimeout: 600_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
