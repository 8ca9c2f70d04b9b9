/**
 * Provisioning through the auth tools, end to end in process: the real MCP
 * server and SDK client against the simulated Nextcloud.
 */
import { describe, expect, it } from "vitest"
import { Fault } from "../../src/simulator/index.js"
import { type Harness, type ServerOverrides, useHarness } from "../support/inProcess.js"

const harness = useHarness({ user: "alice-local" })
type Session = Harness<unknown>
let fx: Session
let session: Session

const start = async (overrides: ServerOverrides = {}) => {
  fx = (await harness.start(overrides)) as unknown as Session
  return fx
}

const provision = async (s: Session, scopes?: Array<string>) => {
  const r = await s.call("nc_auth_provision_access", scopes === undefined ? {} : { scopes })
  expect(r.isError ?? false).toBe(false)
  return r.structuredContent
}

describe("provisioning over stdio", () => {
  it("lists the auth tools with object schemas", async () => {
    session = await start()
    const { tools } = await session.client.listTools()
    expect(tools.map((t) => t.name).filter((name) => name.startsWith("nc_auth_"))).toEqual([
      "nc_auth_provision_access",
      "nc_auth_check_status",
      "nc_auth_update_scopes",
      "nc_auth_revoke_access"
    ])
    for (const tool of tools) {
      expect(tool.inputSchema.type).toBe("object")
      expect(tool.outputSchema?.type).toBe("object")
      expect(JSON.stringify(tool)).not.toContain("$ref")
    }
  })

  it("provision → grant in the browser → check → provisioned, then already provisioned", async () => {
    session = await start()
    const started = await provision(session, ["notes:read", "files.write", "openid"])
    expect(started.status).toBe("login_required")
    expect(started.success).toBe(true)
    expect(started.requested_scopes).toEqual(["files.write", "notes.read"])
    expect(started.login_url).toMatch(new RegExp(`^${fx.sim.url}/index.php/login/v2/flow/[0-9A-Za-z]{128}$`))
    expect(started.message).toContain(started.login_url)

    const pending = await session.call("nc_auth_check_status")
    expect(pending.structuredContent.status).toBe("pending")
    expect(pending.structuredContent.message).toContain(started.login_url)

    await fx.sim.grant({ flow: started.login_url, userId: "alice" })
    const done = await session.call("nc_auth_check_status")
    expect(done.structuredContent).toMatchObject({
      status: "provisioned",
      success: true,
      user_id: "alice-local",
      username: "alice",
      scopes: ["files.write", "notes.read"]
    })
    const again = await provision(session)
    expect(again.status).toBe("already_provisioned")
    expect(again.requested_scopes).toEqual(["files.write", "notes.read"])
    const counters = await fx.sim.counters()
    expect(counters.successfulPolls).toBe(1)
  })

  it("shows the same pending login again instead of starting another", async () => {
    session = await start()
    const first = await provision(session, ["notes.read"])
    const second = await provision(session, ["notes.read"])
    expect(second.login_url).toBe(first.login_url)
    const third = await provision(session, ["notes.write"])
    expect(third.login_url).not.toBe(first.login_url)
  })

  it("narrows at once and widens through a new login that replaces and revokes the old password", async () => {
    session = await start()
    const started = await provision(session, ["notes.read", "notes.write", "files.read"])
    const granted = await fx.sim.grant({ flow: started.login_url, userId: "alice" })
    await session.call("nc_auth_check_status")

    const narrowed = await session.call("nc_auth_update_scopes", { remove_scopes: ["notes.write"] })
    expect(narrowed.structuredContent).toMatchObject({
      status: "updated",
      previous_scopes: ["files.read", "notes.read", "notes.write"],
      new_scopes: ["files.read", "notes.read"]
    })
    const unchanged = await session.call("nc_auth_update_scopes", { add_scopes: ["notes.read"] })
    expect(unchanged.structuredContent.status).toBe("unchanged")

    const widened = await session.call("nc_auth_update_scopes", { add_scopes: ["calendar:read"] })
    expect(widened.structuredContent).toMatchObject({
      status: "login_required",
      new_scopes: ["calendar.read", "files.read", "notes.read"]
    })
    expect(widened.structuredContent.message).toContain(widened.structuredContent.login_url)
    // The old grant stays in force until the new login completes.
    const meanwhile = await session.call("nc_auth_check_status")
    expect(meanwhile.structuredContent).toMatchObject({ status: "provisioned", scopes: ["files.read", "notes.read"] })

    await fx.sim.grant({ flow: widened.structuredContent.login_url, userId: "alice" })
    const after = await session.call("nc_auth_check_status")
    expect(after.structuredContent).toMatchObject({
      status: "provisioned",
      scopes: ["calendar.read", "files.read", "notes.read"]
    })
    expect(await fx.sim.appPasswordStatus(granted.appPassword)).toBe("revoked")
    const passwords = await fx.sim.listAppPasswords("alice")
    expect(passwords.filter((p) => p.alive)).toHaveLength(1)
  })

  it("revokes at Nextcloud and forgets the grant", async () => {
    session = await start()
    const started = await provision(session)
    const granted = await fx.sim.grant({ flow: started.login_url, userId: "ada-5c7e" })
    const status = await session.call("nc_auth_check_status")
    expect(status.structuredContent).toMatchObject({ status: "provisioned", username: "ada@example.org", scopes: null })
    const revoked = await session.call("nc_auth_revoke_access")
    expect(revoked.structuredContent).toMatchObject({ status: "revoked", remote_revoked: true, success: true })
    expect(await fx.sim.appPasswordStatus(granted.appPassword)).toBe("revoked")
    const after = await session.call("nc_auth_check_status")
    expect(after.structuredContent.status).toBe("not_initiated")
    const twice = await session.call("nc_auth_revoke_access")
    expect(twice.structuredContent.status).toBe("not_provisioned")
  })

  it("update without a grant asks to provision first", async () => {
    session = await start()
    const r = await session.call("nc_auth_update_scopes", { add_scopes: ["notes.read"] })
    expect(r.isError).toBe(true)
    expect(r.structuredContent).toMatchObject({ status: "error", success: false, error_code: "ProvisioningRequired" })
  })
})

describe("faults", () => {
  it("a 500 on initiate stores nothing and says Nextcloud failed", async () => {
    session = await start()
    await fx.sim.injectFault({ target: "init", fault: Fault.status(500) })
    const r = await session.call("nc_auth_provision_access")
    expect(r.isError).toBe(true)
    expect(r.structuredContent).toMatchObject({ status: "error", error_code: "NextcloudError", success: false })
    await fx.sim.clearFaults()
    const status = await session.call("nc_auth_check_status")
    expect(status.structuredContent.status).toBe("not_initiated")
  })

  it("Nextcloud down on initiate is NextcloudUnreachable", async () => {
    session = await start({ host: "http://127.0.0.1:9" })
    const r = await session.call("nc_auth_provision_access")
    expect(r.structuredContent).toMatchObject({ status: "error", error_code: "NextcloudUnreachable" })
  })

  it("502s and malformed JSON while polling keep the flow pending", async () => {
    session = await start()
    const started = await provision(session)
    await fx.sim.grant({ flow: started.login_url, userId: "alice" })
    await fx.sim.injectFault({ target: "poll", fault: Fault.status(502), times: 2 })
    for (let i = 0; i < 2; i++) {
      const r = await session.call("nc_auth_check_status")
      expect(r.structuredContent).toMatchObject({ status: "error", error_code: "NextcloudError" })
      expect(r.structuredContent.message).toContain("still pending")
    }
    await fx.sim.injectFault({ target: "poll", fault: Fault.malformedJson(), times: 1 })
    const malformed = await session.call("nc_auth_check_status")
    expect(malformed.structuredContent).toMatchObject({ status: "error", error_code: "NextcloudError" })
    const done = await session.call("nc_auth_check_status")
    expect(done.structuredContent.status).toBe("provisioned")
  })
})
