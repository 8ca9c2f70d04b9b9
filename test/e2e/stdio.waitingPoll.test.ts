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
    expect(await eventually(async () => (await fx.sim.counters()).polls >= 2)).toBe(true)
    await fx.sim.grant({ flow: started.structuredContent.login_url, userId: "alice" })
    const done = await waiting
    expect(done.structuredContent).toMatchObject({ status: "provisioned", success: true, username: "alice" })
    expect(done.structuredContent.message).toContain("provisioned successfully")
    expect((await fx.sim.counters()).successfulPolls).toBe(1)
  })
  it("a wait started right after revoking is not ended early by the revocation's own grant change", async () => {
    const session = await fx.start()
    const first = await session.call("nc_auth_provision_access", { scopes: ["notes.read"] })
    await fx.sim.grant({ flow: first.structuredContent.login_url, userId: "alice" })
    expect((await session.call("nc_auth_check_status")).structuredContent.status).toBe("provisioned")
    expect((await session.call("nc_auth_revoke_access")).structuredContent.status).toBe("revoked")

    const again = await session.call("nc_auth_provision_access", { scopes: ["notes.read"] })
    const polled = (await fx.sim.counters()).polls
    const waiting = session.call("nc_auth_check_status", { wait_seconds: 60 })
    // The revocation's change reaches this process again within a fraction of a second; approve after that.
    expect(await eventually(async () => (await fx.sim.counters()).polls >= polled + 2)).toBe(true)
    await fx.sim.grant({ flow: again.structuredContent.login_url, userId: "alice" })
    expect((await waiting).structuredContent).toMatchObject({ status: "provisioned", username: "alice" })
  })
})
