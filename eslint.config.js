import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["node_modules/", ".state/", "dist/", "coverage/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-floating-promises": "off",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "no-restricted-properties": [
        "error",
        {
          object: "process",
          property: "env",
          message: "Read the environment only in a config module (config.ts).",
        },
      ],
    },
  },
  {
    files: [
      "**/config.ts",
      "**/config/*.ts",
      "vitest.config.ts",
      "test/harness/**/*.ts",
      "scripts/stack/processes.ts",
    ],
    rules: { "no-restricted-properties": "off" },
  },
  {
    // The dashboard's browser module (served as it is, no build step).
    files: ["api/dashboard/public/**/*.js"],
    languageOptions: {
      globals: Object.fromEntries(
        [
          "document",
          "window",
          "globalThis",
          "fetch",
          "EventSource",
          "history",
          "location",
          "URLSearchParams",
          "setTimeout",
          "clearTimeout",
          "setInterval",
          "clearInterval",
          "console",
        ].map((name) => [name, "readonly"]),
      ),
    },
  },
);
