import { defineConfig } from "vitest/config"

// CI asks for a machine-readable report to print a one-line summary.
const jsonReport = process.env["NC_MCP_VITEST_JSON"]

// How the suite stays fast (docs/architecture.md, "Tests"): two files at a
// time (vitest's default on 2 cores is one), so a file waiting on a server
// or a child process leaves the other core busy. Files are still isolated:
// with `isolate: false` (one module graph per worker) some client tests hit
// "Maximum call stack size exceeded" on error paths, not yet explained;
// `test/support/setup.ts` already undoes the other leak between files.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    setupFiles: ["test/support/setup.ts"],
    // Deadlines bound failures only; generous, so a loaded machine does not fail passing tests.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    maxWorkers: 2,
    minWorkers: 1,
    ...(jsonReport !== undefined && jsonReport !== ""
      ? { reporters: ["default", "json"], outputFile: { json: jsonReport } }
      : {})
  }
})
