import { defineConfig } from "vitest/config"

// CI asks for a machine-readable report to print a one-line summary.
const jsonReport = process.env["NC_MCP_VITEST_JSON"]

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: "forks",
    ...(jsonReport !== undefined && jsonReport !== ""
      ? { reporters: ["default", "json"], outputFile: { json: jsonReport } }
      : {})
  }
})
