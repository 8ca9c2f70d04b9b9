/**
 * Two stdio servers on one SQLite file (the default database is one file per
 * OS user, so two desktop clients share it): a login started through one is
 * seen pending by the other, which had remembered that there was none; a
 * grant narrowed through one is enforced by the other promptly, although the
 * other had the grant cached and the cache TTL is 5 minutes.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { eventually } from "../support/eventually.js"
import { type StdioSession, startStdio, tempDir, type ToolResult } from "../support/stdioServer.js"
import { type SimulatorWithApps, startSimulatorWithApps } from "../support/simulator.js"

let sim: SimulatorWithApps
let tmp: ReturnType<typeof tempDir>
const sessions: Array<StdioSession> = []

beforeEach(async () => {
  sim = await startSimulatorWithApps()
  tmp = tempDir("ncmcp-shared-")
})
afterEach(async () => {
  await Promise.all(sessions.splice(0).map((s) => s.close().catch(() => undefined)))
  await sim.close()
  tmp.cleanup()
})

const start = async () => {
  const session = await startStdio({
    env: {
      NEXTCLOUD_HOST: sim.url,
      NC_MCP_DB: `${tmp.dir}/state.db`,
      NC_MCP_USER: "ada-local",
      NC_MCP_POLL_INTERVAL_SECONDS: "3600"
    }
  })
  sessions.push(session)
  return session
}

const errorCode = (r: ToolResult) => r.structuredContent.error_code

describe("two stdio servers on one SQLite file", () => {
  it("a login started through one is seen by the other; scopes narrowed through one are enforced by the other, whose cache held the wider grant", async () => {
    const [a, b] = [await start(), await start()]
    // Both fully started (a tool call waits for that), so B's first poller sweep is behind us.
    expect((await b.call("nc_auth_check_status")).structuredContent.status).toBe("not_initiated")
    const started = await a.call("nc_auth_provision_access", { scopes: ["files.read", "files.write"] })
    // B remembered that no login was stored for the user; A's announcement makes it look again.
    expect(await eventually(async () => (await b.call("nc_auth_check_status")).structuredContent.status === "pending", 20_000)).toBe(true)
    await sim.grant({ flow: started.structuredContent.login_url, userId: "ada-5c7e" })
    // Either process may complete the flow; A hears of it either way.
    expect((await a.call("nc_auth_check_status", { wait_seconds: 20 })).structuredContent.status).toBe("provisioned")
    // B hears of the new grant (its cache had remembered "none") and writes with it: its cache now holds it.
    const written = await eventually(
      async () => errorCode(await b.call("nc_files_write", { path: "probe.txt", content: "1" })) === undefined,
      20_000
    )
    expect(written).toBe(true)

    const narrowed = await a.call("nc_auth_update_scopes", { remove_scopes: ["files.write"] })
    expect(narrowed.structuredContent).toMatchObject({ status: "updated", new_scopes: ["files.read"] })
    const changedAt = Date.now()
    let refused: ToolResult | undefined
    const seen = await eventually(async () => {
      const r = await b.call("nc_files_write", { path: "probe.txt", content: "2" })
      if (errorCode(r) === undefined) return false
      refused = r
      return true
    }, 20_000)
    const latency = Date.now() - changedAt
    expect(seen).toBe(true)
    expect(refused?.structuredContent).toMatchObject({ success: false, error_code: "InsufficientScope" })
    expect(refused?.structuredContent.message).toContain("files.write")
    console.info(`the other stdio server refused files.write ${latency} ms after the grant was narrowed`)
    // Reading is still allowed on both.
    expect(errorCode(await b.call("nc_files_read", { path: "probe.txt" }))).toBeUndefined()
  })
})
