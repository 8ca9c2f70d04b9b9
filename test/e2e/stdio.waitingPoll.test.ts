/**
 * Over stdio: a client waiting in `nc_auth_check_status` hears of the
 * approval from the flow polled for it, not from the background poller
 * (here set to once an hour), and Nextcloud's one-shot answer is taken once.
 */
import { describe, expect, it } from "vitest"
import { eventually } from "../support/eventually.js"
import { useStdioFixture } from "../support/stdioServer.js"

const fx = useStdioFixture("alice-local")

describe("waiting for the approval", () => {
  it("returns provisioned soon after the click although the background poll is an hour away", async () => {
    const session = await fx.start({ env: { NC_MCP_POLL_INTERVAL_SECONDS: "3600" } })
    const started = await session.call("nc_auth_provision_access", { scopes: ["notes.read"] })
    const waiting = session.call("nc_auth_check_status", { wait_seconds: 60 })
    // Approve only once the flow was polled for the waiting client (the call's own first poll is the first).
    expect(await eventually(async () => (await fx.sim.counters()).polls >= 2, 10_000)).toBe(true)
    await fx.sim.grant({ flow: started.structuredContent.login_url, userId: "alice" })
    const done = await waiting
    expect(done.structuredContent).toMatchObject({ status: "provisioned", success: true, username: "alice" })
    expect(done.structuredContent.message).toContain("provisioned successfully")
    expect((await fx.sim.counters()).successfulPolls).toBe(1)
  })
})
