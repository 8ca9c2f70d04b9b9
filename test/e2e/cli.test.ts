/**
 * The command line as a person meets it: help that reads well in a pipe,
 * one-line errors that name the option, no stack traces.
 */
import { spawn } from "node:child_process"
import { createServer } from "node:net"
import { describe, expect, it } from "vitest"
import { MAIN } from "../support/stdioServer.js"

interface Ran {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

const cli = (args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  new Promise<Ran>((resolve) => {
    const child = spawn(process.execPath, [MAIN, ...args], {
      env: { PATH: process.env["PATH"] ?? "", ...env },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString("utf8")))
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString("utf8")))
    child.on("close", (code) => resolve({ code, stdout, stderr }))
  })

/** Exit 1 with exactly one line on stderr matching `pattern`. */
const expectOneLineError = (ran: Ran, pattern: RegExp) => {
  expect(ran.code).toBe(1)
  const lines = ran.stderr.trim().split("\n")
  expect(lines, ran.stderr).toHaveLength(1)
  expect(lines[0]).toMatch(/^nextcloud-mcp: /)
  expect(lines[0]).toMatch(pattern)
}

describe("help", () => {
  it("is plain text in a pipe: every command described, options with defaults, the variables each command reads", async () => {
    const [root, http, stdio, rotate, simulate] = await Promise.all([
      cli(["--help"]),
      cli(["http", "--help"]),
      cli(["stdio", "-h"]),
      cli(["rotate-key", "--help"]),
      cli(["simulate", "--help"])
    ])
    for (const ran of [root, http, stdio, rotate, simulate]) {
      expect(ran.code).toBe(0)
      // biome-ignore lint: looking for escape characters
      expect(ran.stdout).not.toMatch(/\u001b/)
      expect(ran.stdout).not.toMatch(/--wizard|--completions|A true or false value/)
    }
    for (const name of ["stdio", "http", "simulate", "demo", "rotate-key"]) {
      expect(root.stdout).toMatch(new RegExp(`^  ${name} +\\S`, "m"))
    }
    expect(http.stdout).toContain("Usage: nextcloud-mcp http [--host <address>] [--port <number>]")
    expect(http.stdout).toMatch(/Default:\s+8000\./)
    expect(http.stdout).toContain("NC_MCP_OIDC_ISSUER")
    expect(stdio.stdout).toContain("NC_MCP_USER")
    expect(stdio.stdout).not.toContain("NC_MCP_OIDC_ISSUER")
    expect(rotate.stdout).not.toContain("NEXTCLOUD_HOST")
    expect(simulate.stdout).toContain("/__sim/flows/grant")
  })

  it("--version", async () => {
    const ran = await cli(["--version"])
    expect(ran.code).toBe(0)
    expect(ran.stdout).toMatch(/^nextcloud-mcp \d+\.\d+\.\d+\n$/)
  })
})

describe("usage errors are one line naming the option", () => {
  it("bad ports, an unknown option or command, an unknown log level", async () => {
    const [letters, tooLarge, unknownOption, unknownCommand, level] = await Promise.all([
      cli(["http", "--port", "abc"]),
      cli(["simulate", "--port", "99999"]),
      cli(["http", "--hots", "x"]),
      cli(["serve"]),
      cli(["--log-level", "verbose", "stdio"])
    ])
    expectOneLineError(letters, /--port must be a whole number from 0 to 65535, got 'abc'/)
    expectOneLineError(tooLarge, /--port must be a whole number from 0 to 65535, got '99999'/)
    expectOneLineError(unknownOption, /'--hots'.*nextcloud-mcp http --help/)
    expectOneLineError(unknownCommand, /stdio.*http.*simulate/)
    expectOneLineError(level, /--log-level must be one of debug, info, warn, error, got 'verbose'/)
  })

  it("a port in use says so", async () => {
    const busy = createServer()
    await new Promise<void>((resolve) => busy.listen(0, "127.0.0.1", resolve))
    const address = busy.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    try {
      expectOneLineError(await cli(["simulate", "--port", String(port)]), new RegExp(`127\\.0\\.0\\.1:${port}: the port is in use`))
    } finally {
      busy.close()
    }
  })

  it("--log-level applies like NC_MCP_LOG_LEVEL and wins over it", async () => {
    const ran = await cli(["stdio", "--log-level", "warn"], { NC_MCP_LOG_LEVEL: "loud" })
    // The variable's bad value is not read: the flag wins; the missing host is what fails.
    expectOneLineError(ran, /NEXTCLOUD_HOST is required/)
  })
})
