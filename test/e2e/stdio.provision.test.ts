/**
 * Provisioning over stdio with the real server process, for what only a
 * process shows: stdout carries nothing but JSON-RPC, and a server killed
 * mid-flow loses nothing. The tools' behaviour is tested in process
 * (test/tools/provision.test.ts).
 */
import { describe, expect, it } from "vitest"
import { type StdioSession, useStdioFixture } from "../support/stdioServer.js"

const fx = useStdioFixture("alice-local")
let session: StdioSession | undefined

const provision = async (s: StdioSession, scopes?: Array<string>) => {
  const r = await s.call("nc_auth_provision_access", scopes === undefined ? {} : { scopes })
  expect(r.isError ?? false).toBe(false)
  return r.structuredContent
}

describe("provisioning over stdio", () => {
  it("stdout carries nothing but JSON-RPC, logs and protocol errors included", async () => {
    session = await fx.start()
    const started = await provision(session, ["notes.read"])
    session.writeRaw("this is not json\n")
    await fx.sim.grant({ flow: started.login_url, userId: "alice" })
    expect((await session.call("nc_auth_check_status")).structuredContent.status).toBe("provisioned")
    expect((await session.call("nc_auth_revoke_access")).structuredContent.status).toBe("revoked")
    const lines = session.stdout().split("\n").filter((line) => line.trim() !== "")
    expect(lines.length).toBeGreaterThan(0)
    for (const line of lines) {
      expect(JSON.parse(line)).toMatchObject({ jsonrpc: "2.0" })
    }
    expect(session.stderr()).toContain("login flow started")
    expect(session.stderr()).toContain("MCP protocol error")
  })

  it("a restart mid-flow loses nothing", async () => {
    session = await fx.start()
    const started = await provision(session, ["notes.read"])
    const pid = session.pid()
    expect(pid).not.toBeNull()
    process.kill(pid as number, "SIGKILL")
    await session.close().catch(() => undefined)
    await fx.sim.grant({ flow: started.login_url, userId: "alice" })
    session = await fx.start()
    const done = await session.call("nc_auth_check_status")
    expect(done.structuredContent).toMatchObject({ status: "provisioned", scopes: ["notes.read"] })
  })
})
