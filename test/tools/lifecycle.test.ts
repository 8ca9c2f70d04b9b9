/**
 * The credential lifecycle end to end: the real MCP server with its
 * background poller (in process), against the simulated Nextcloud on
 * 127.0.0.1.
 */
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js"
import { Duration } from "effect"
import { describe, expect, it } from "vitest"
import { Fault } from "../../src/simulator/index.js"
import { eventually } from "../support/eventually.js"
import { type Harness, type HarnessOptions, useHarness } from "../support/inProcess.js"
import type { ToolOutput } from "../support/stdioServer.js"

const harness = useHarness({ user: "alice-local" })
type Session = Harness<unknown>
let fx: Session

/** The server with a fast background poller (and `extra` on top). */
const start = async (extra: HarnessOptions<never>["provisioning"] = {}) => {
  fx = (await harness.start({
    poller: true,
    provisioning: { pollInterval: Duration.millis(200), ...extra }
  })) as unknown as Session
  return fx
}

const provision = async (s: Session, scopes?: Array<string>) => {
  const r = await s.call("nc_auth_provision_access", scopes === undefined ? {} : { scopes })
  expect(r.isError ?? false).toBe(false)
  return r.structuredContent
}

describe("background completion", () => {
  it("a user who approves in the browser is provisioned without calling any tool", async () => {
    const session = await start()
    const started = await provision(session, ["notes.read"])
    const granted = await fx.sim.grant({ flow: started.login_url, userId: "alice" })
    // nobody calls a tool: the poller collects the one-shot answer
    expect(await eventually(async () => (await fx.sim.counters()).successfulPolls === 1), "the poller collected the app password").toBe(true)
    expect(await eventually(async () => ((await fx.sim.counters()).requests["ocs.user"] ?? 0) >= 1), "the user id was verified").toBe(true)
    const pollsBefore = (await fx.sim.counters()).polls
    const status = await session.call("nc_auth_check_status")
    expect(status.structuredContent).toMatchObject({
      status: "provisioned",
      username: "alice",
      scopes: ["notes.read"]
    })
    // check_status had nothing left to poll: the flow was completed and removed
    expect((await fx.sim.counters()).polls).toBe(pollsBefore)
    expect(await fx.sim.appPasswordStatus(granted.appPassword)).toBe("alive")
    expect(await fx.sim.listFlows()).toEqual([])
  })

  it("transient poll failures keep the flow; it completes once Nextcloud answers again", async () => {
    const session = await start()
    const started = await provision(session)
    await fx.sim.injectFault({ target: "poll", fault: Fault.status(503) })
    await fx.sim.grant({ flow: started.login_url, userId: "alice" })
    expect(await eventually(async () => ((await fx.sim.counters()).requests["poll"] ?? 0) >= 3), "a few polls failed").toBe(true)
    expect((await fx.sim.counters()).successfulPolls).toBe(0)
    await fx.sim.clearFaults()
    expect(await eventually(async () => (await fx.sim.counters()).successfulPolls === 1, 20_000), "the poller collected the app password").toBe(true)
    const status = await session.call("nc_auth_check_status")
    expect(status.structuredContent.status).toBe("provisioned")
  })
})

describe("nc_auth_check_status wait_seconds", () => {
  it("returns as soon as the login is approved mid-wait, reporting progress to a client that asked for it", async () => {
    const session = await start()
    const started = await provision(session)
    const progress: Array<{ progress: number; total?: number | undefined; message?: string | undefined }> = []
    let granted = false
    const result = (await session.client.callTool(
      { name: "nc_auth_check_status", arguments: { wait_seconds: 120 } },
      undefined,
      {
        onprogress: (p) => {
          progress.push(p)
          // approve once the wait is under way
          if (!granted) {
            granted = true
            void fx.sim.grant({ flow: started.login_url, userId: "alice" })
          }
        },
        timeout: 25_000
      }
    )) as CallToolResult & { structuredContent: ToolOutput }
    expect(result.structuredContent).toMatchObject({ status: "provisioned", username: "alice", success: true })
    expect(result.structuredContent.message).toContain("provisioned successfully")
    expect(progress.length).toBeGreaterThanOrEqual(1)
    expect(progress[0]).toMatchObject({ total: 120 })
    expect(progress[0]?.message).toContain("Waiting")
    // it returned long before the wait would have ended
    expect(Math.max(...progress.map((p) => p.progress))).toBeLessThan(120)
    expect((await fx.sim.counters()).successfulPolls).toBe(1)
  })

  it("without a progress token it simply waits and returns pending when the wait ends", async () => {
    const session = await start()
    await provision(session)
    const result = await session.call("nc_auth_check_status", { wait_seconds: 1 })
    expect(result.structuredContent).toMatchObject({ status: "pending", success: true })
  })
})

describe("nc_auth_revoke_access", () => {
  it("online: Nextcloud confirms, the password is dead there and gone here", async () => {
    const session = await start()
    const started = await provision(session)
    const granted = await fx.sim.grant({ flow: started.login_url, userId: "alice" })
    expect(await eventually(async () => (await fx.sim.counters()).successfulPolls === 1), "provisioned").toBe(true)
    const revoked = await session.call("nc_auth_revoke_access")
    expect(revoked.structuredContent).toMatchObject({ status: "revoked", remote_revoked: true, success: true })
    expect(await fx.sim.appPasswordStatus(granted.appPassword)).toBe("revoked")
    expect((await session.call("nc_auth_check_status")).structuredContent.status).toBe("not_initiated")
  })

  for (const [name, fault] of [
    ["connection dropped", Fault.drop()],
    ["503", Fault.status(503)]
  ] as const) {
    it(`Nextcloud failing (${name}): deleted here anyway, remote_revoked false, and the message says so`, async () => {
      const session = await start()
      const started = await provision(session)
      const granted = await fx.sim.grant({ flow: started.login_url, userId: "alice" })
      expect(await eventually(async () => (await fx.sim.counters()).successfulPolls === 1), "provisioned").toBe(true)
      await fx.sim.injectFault({ target: "ocs.apppassword.delete", fault })
      const revoked = await session.call("nc_auth_revoke_access")
      expect(revoked.isError ?? false).toBe(false)
      expect(revoked.structuredContent).toMatchObject({ status: "revoked", remote_revoked: false, success: true })
      expect(revoked.structuredContent.message).toContain("did not confirm")
      expect(revoked.structuredContent.message).not.toContain(granted.appPassword)
      expect(await fx.sim.appPasswordStatus(granted.appPassword)).toBe("alive")
      expect((await session.call("nc_auth_check_status")).structuredContent.status).toBe("not_initiated")
    })
  }

  it("Nextcloud down entirely (closed port): deleted here anyway", async () => {
    const session = await start()
    const started = await provision(session)
    await fx.sim.grant({ flow: started.login_url, userId: "alice" })
    expect(await eventually(async () => (await fx.sim.counters()).successfulPolls === 1), "provisioned").toBe(true)
    // Collected is not yet stored (the user id is verified first): restart only once the grant is saved.
    expect(
      await eventually(async () => (await session.call("nc_auth_check_status")).structuredContent.status === "provisioned"),
      "the grant stored"
    ).toBe(true)
    // the same database, but Nextcloud is now at a closed port
    await session.restart({ host: "http://127.0.0.1:9" })
    expect((await session.call("nc_auth_check_status")).structuredContent.status).toBe("provisioned")
    const revoked = await session.call("nc_auth_revoke_access")
    expect(revoked.structuredContent).toMatchObject({ status: "revoked", remote_revoked: false })
    expect(revoked.structuredContent.message).toContain("could not be reached")
    expect((await session.call("nc_auth_check_status")).structuredContent.status).toBe("not_initiated")
  })
})

describe("replacement", () => {
  it("a new login that completes in the background revokes the old app password", async () => {
    const session = await start()
    const started = await provision(session, ["notes.read"])
    const first = await fx.sim.grant({ flow: started.login_url, userId: "alice" })
    expect(await eventually(async () => (await fx.sim.counters()).successfulPolls === 1), "provisioned").toBe(true)
    const widened = await session.call("nc_auth_update_scopes", { add_scopes: ["files.read"] })
    expect(widened.structuredContent.status).toBe("login_required")
    const second = await fx.sim.grant({ flow: widened.structuredContent.login_url, userId: "alice" })
    expect(await eventually(async () => (await fx.sim.appPasswordStatus(first.appPassword)) === "revoked"), "the old password was revoked").toBe(true)
    expect(await fx.sim.appPasswordStatus(second.appPassword)).toBe("alive")
    const status = await session.call("nc_auth_check_status")
    expect(status.structuredContent).toMatchObject({ status: "provisioned", scopes: ["files.read", "notes.read"] })
    expect((await fx.sim.listAppPasswords("alice")).filter((p) => p.alive)).toHaveLength(1)
  })
})

describe("flow-start rate limit", () => {
  it("answers RateLimited with retry_after_seconds once the configured number of flows was started", async () => {
    const session = await start({ flowStartLimit: 2 })
    await provision(session, ["notes.read"])
    await provision(session, ["notes.write"])
    const limited = await session.call("nc_auth_provision_access", { scopes: ["files.read"] })
    expect(limited.isError).toBe(true)
    expect(limited.structuredContent).toMatchObject({ status: "error", success: false, error_code: "RateLimited" })
    const retry = limited.structuredContent["retry_after_seconds"]
    expect(typeof retry).toBe("number")
    expect(retry as number).toBeGreaterThan(3500)
    expect(retry as number).toBeLessThanOrEqual(3600)
    expect(limited.structuredContent.message).toContain(`Try again in ${Math.ceil((retry as number) / 60)} minutes`)
    expect(limited.structuredContent.message).toContain("NC_MCP_FLOW_START_LIMIT")
    expect((await fx.sim.counters()).inits).toBe(2)
  })
})
