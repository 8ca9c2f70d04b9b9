import { defineConfig } from "vitest/config"

// CI asks for a machine-readable report to print a one-line summary.
const jsonReport = process.env["NC_MCP_VITEST_JSON"]

// How the suite stays fast (docs/architecture.md, "Tests"): test files share
// one module graph per worker (`isolate: false`: effect, the SDK and the
// sources load once per worker, not once per file), in worker threads,
// two at a time so a file waiting on a server or a child process leaves
// the other core busy. `test/support/setup.ts` undoes what one file's
// @effect/vitest `layer(…)` would otherwise leak into the next.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    setupFiles: ["test/support/setup.ts"],
    // Deadlines bound failures only; generous, so a loaded machine does not fail passing tests.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "threads",
    isolate: false,
    maxWorkers: 2,
    minWorkers: 1,
    ...(jsonReport !== undefined && jsonReport !== ""
      ? { reporters: ["default", "json"], outputFile: { json: jsonReport } }
      : {})
  }
})
