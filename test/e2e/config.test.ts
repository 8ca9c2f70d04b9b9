/**
 * Configuration errors of `stdio`: exit 1 with one line naming the variable.
 * Every case runs the command's program in process, with its settings from
 * the case alone, and checks the line a process would print; two cases run
 * the real process, for the exit code, the one line on stderr and the empty
 * stdout.
 */
import { spawnSync } from "node:child_process"
import { describe, expect, it } from "vitest"
import { runStdio } from "../../src/commands/stdio.js"
import { runCommandInProcess } from "../support/commandInProcess.js"
import { MAIN, tempDir } from "../support/stdioServer.js"

const run = (env: Record<string, string>) =>
  spawnSync(process.execPath, [MAIN, "stdio"], {
    env: { PATH: process.env["PATH"] ?? "", ...env },
    input: "",
    encoding: "utf8",
    timeout: 20_000
  })

const cases: ReadonlyArray<readonly [string, Record<string, string>, RegExp]> = [
  ["missing NEXTCLOUD_HOST", {}, /NEXTCLOUD_HOST is required/],
  ["NEXTCLOUD_HOST not a URL", { NEXTCLOUD_HOST: "cloud" }, /NEXTCLOUD_HOST/],
  [
    "NEXTCLOUD_HOST without a scheme",
    { NEXTCLOUD_HOST: "cloud.example.com" },
    /NEXTCLOUD_HOST: must be an http:\/\/ or https:\/\/ URL, got "cloud\.example\.com" \(did you mean https:\/\/cloud\.example\.com\?\)/
  ],
  ["empty NC_MCP_USER", { NEXTCLOUD_HOST: "http://127.0.0.1:9", NC_MCP_USER: "" }, /NC_MCP_USER: must not be empty/],
  ["empty NC_MCP_DB", { NEXTCLOUD_HOST: "http://127.0.0.1:9", NC_MCP_DB: "" }, /NC_MCP_DB: must not be empty/],
  ["bad NC_MCP_LOG_LEVEL", { NEXTCLOUD_HOST: "http://127.0.0.1:9", NC_MCP_LOG_LEVEL: "loud" }, /NC_MCP_LOG_LEVEL/],
  ["short NC_MCP_ENCRYPTION_KEY", { NEXTCLOUD_HOST: "http://127.0.0.1:9", NC_MCP_ENCRYPTION_KEY: "c2hvcnQ=" }, /NC_MCP_ENCRYPTION_KEY/]
]

describe("configuration errors exit 1 with one line naming the variable", () => {
  for (const [name, env, pattern] of cases) {
    it(name, async () => {
      const tmp = tempDir()
      try {
        // Every case fails while reading its settings, before serving.
        const line = (await runCommandInProcess(runStdio, { NC_MCP_DB: `${tmp.dir}/x.db`, ...env })).failure
        expect(line).toMatch(/^nextcloud-mcp: configuration error: [^\n]*\n$/)
        expect(line).toMatch(pattern)
      } finally {
        tmp.cleanup()
      }
    })
  }

  for (const [name, env, pattern] of cases.filter(([name]) => name === "missing NEXTCLOUD_HOST" || name === "bad NC_MCP_LOG_LEVEL")) {
    it(`${name}, as a process`, () => {
      const tmp = tempDir()
      try {
        const result = run({ NC_MCP_DB: `${tmp.dir}/x.db`, ...env })
        expect(result.status).toBe(1)
        expect(result.stdout).toBe("")
        const lines = result.stderr.trim().split("\n")
        expect(lines).toHaveLength(1)
        expect(lines[0]).toMatch(pattern)
        expect(lines[0]).toMatch(/^nextcloud-mcp: configuration error: /)
      } finally {
        tmp.cleanup()
      }
    })
  }
})
