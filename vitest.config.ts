import { defineConfig } from "vitest/config"

// CI asks for a machine-readable report to print a one-line summary.
const jsonReport = process.env["NC_MCP_VITEST_JSON"]

// How the suite stays fast (docs/architecture.md, "Tests"):
// - Test files share one module graph per worker (`isolate: false`): effect,
//   the MCP SDK, ical.js and the sources load once per worker, not once per
//   file (that loading was ~40% of the summed file time, ~150 s of ~370 s).
//   `test/support/setup.ts` undoes what one file's @effect/vitest
//   `layer(…)` leaves on the shared `it`.
// - Three worker threads on a 2-core machine, kept for the whole run
//   (`minWorkers` = `maxWorkers`): many files spend much of their time
//   waiting on a server, a child process or a deadline, so a third file
//   fills the cores (vitest ~69 s with two, ~58 s with three; with two CPU
//   hogs beside it, ~115 s and ~92 s, passing either way). With a minimum
//   below the maximum, runs ended in "Terminating worker thread" after
//   every test had passed: the pool retires idle workers above the minimum,
//   and one still had a task.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    setupFiles: ["test/support/setup.ts"],
    // Deadlines bound failures only; generous, so a loaded machine does not fail passing tests.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "threads",
    isolate: false,
    maxWorkers: 3,
    minWorkers: 3,
    ...(jsonReport !== undefined && jsonReport !== ""
      ? { reporters: ["default", "json"], outputFile: { json: jsonReport } }
      : {})
  }
})
