/**
 * How the login URL reaches the person, through the real MCP server and the
 * SDK Client (in process): URL-mode elicitation when the client declares it
 * (and the completion notification), a form with an `acknowledged` box
 * otherwise, and only the tool's text without elicitation support.
 */
import { describe, expect, it, vi } from "vitest"
import { type HarnessOptions, useHarness } from "../support/inProcess.js"

const harness = useHarness({ user: "alice-local" })
let fx: { readonly sim: Awaited<ReturnType<typeof harness.start>>["sim"] }

const start = async (options: Pick<HarnessOptions<never>, "capabilities" | "answers">) => {
  const s = await harness.start(options)
  fx = s
  return s
}

const URL_MODE = { elicitation: { url: {} } }
const FORM_MODE = { elicitation: { form: {} } }

describe("URL-mode elicitation", () => {
  it("accept: pending, the elicitation carried the login URL, and completion is notified under its id", async () => {
    const s = await start({ capabilities: URL_MODE, answers: ["accept"] })
    const r = await s.call("nc_auth_provision_access", { scopes: ["notes.read"] })
    expect(r.isError ?? false).toBe(false)
    expect(r.structuredContent).toMatchObject({ status: "pending", success: true })
    const loginUrl = r.structuredContent.login_url
    expect(loginUrl).toMatch(new RegExp(`^${fx.sim.url}/index.php/login/v2/flow/`))
    // The text still carries the URL, for clients that did not open it.
    expect(r.structuredContent.message).toContain(loginUrl)

    expect(s.elicitations).toHaveLength(1)
    const elicitation = s.elicitations[0]
    expect(elicitation?.mode).toBe("url")
    expect(elicitation?.url).toBe(loginUrl)
    expect(elicitation?.elicitationId).toEqual(expect.any(String))
    expect(s.completedElicitations).toEqual([])

    const pending = await s.call("nc_auth_check_status")
    expect(pending.structuredContent.status).toBe("pending")
    expect(s.completedElicitations).toEqual([])

    await fx.sim.grant({ flow: loginUrl, userId: "alice" })
    const done = await s.call("nc_auth_check_status")
    expect(done.structuredContent).toMatchObject({ status: "provisioned", scopes: ["notes.read"] })
    await vi.waitFor(() => expect(s.completedElicitations).toEqual([elicitation?.elicitationId]))
    // Once only.
    await s.call("nc_auth_check_status")
    expect(s.completedElicitations).toHaveLength(1)
  })

  it("decline: declined with LoginDeclined, and the flow is gone", async () => {
    const s = await start({ capabilities: URL_MODE, answers: ["decline"] })
    const r = await s.call("nc_auth_provision_access")
    expect(r.isError).toBe(true)
    expect(r.structuredContent).toMatchObject({ status: "declined", success: false, error_code: "LoginDeclined" })
    expect(s.elicitations.map((e) => e.mode)).toEqual(["url"])
    const status = await s.call("nc_auth_check_status")
    expect(status.structuredContent).toMatchObject({ status: "not_initiated", success: true })
    // A later grant of the abandoned flow provisions nothing.
    await fx.sim.grant({ flow: s.elicitations[0]?.url ?? "", userId: "alice" }).catch(() => undefined)
    expect((await s.call("nc_auth_check_status")).structuredContent.status).toBe("not_initiated")
  })

  it("cancel: cancelled with LoginCancelled, and the flow is gone", async () => {
    const s = await start({ capabilities: URL_MODE, answers: ["cancel"] })
    const r = await s.call("nc_auth_provision_access", { scopes: ["files.read"] })
    expect(r.isError).toBe(true)
    expect(r.structuredContent).toMatchObject({ status: "cancelled", success: false, error_code: "LoginCancelled" })
    expect((await s.call("nc_auth_check_status")).structuredContent.status).toBe("not_initiated")
    // Trying again starts a new login.
    const again = await s.call("nc_auth_provision_access", { scopes: ["files.read"] })
    expect(again.structuredContent.status).toBe("cancelled")
    expect(s.elicitations).toHaveLength(2)
    expect(s.elicitations[1]?.url).not.toBe(s.elicitations[0]?.url)
  })

  it("widening with decline: declined, and the current grant stays as it was", async () => {
    const s = await start({ capabilities: URL_MODE, answers: ["accept", "decline"] })
    const started = await s.call("nc_auth_provision_access", { scopes: ["notes.read"] })
    await fx.sim.grant({ flow: started.structuredContent.login_url, userId: "alice" })
    expect((await s.call("nc_auth_check_status")).structuredContent.status).toBe("provisioned")

    const widened = await s.call("nc_auth_update_scopes", { add_scopes: ["calendar.read"] })
    expect(widened.isError).toBe(true)
    expect(widened.structuredContent).toMatchObject({ status: "declined", success: false, error_code: "LoginDeclined" })
    expect(s.elicitations).toHaveLength(2)
    expect(s.elicitations[1]?.mode).toBe("url")
    expect(widened.structuredContent.message).toContain("nc_auth_update_scopes")

    const status = await s.call("nc_auth_check_status")
    expect(status.structuredContent).toMatchObject({ status: "provisioned", scopes: ["notes.read"] })
    const passwords = await fx.sim.listAppPasswords("alice")
    expect(passwords.filter((p) => p.alive)).toHaveLength(1)
  })

  it("widening accepted: login_required with the elicited URL; completion replaces the grant and is notified", async () => {
    const s = await start({ capabilities: URL_MODE, answers: ["accept", "accept"] })
    const started = await s.call("nc_auth_provision_access", { scopes: ["notes.read"] })
    await fx.sim.grant({ flow: started.structuredContent.login_url, userId: "alice" })
    await s.call("nc_auth_check_status")
    const widened = await s.call("nc_auth_update_scopes", { add_scopes: ["calendar.read"] })
    expect(widened.isError ?? false).toBe(false)
    expect(widened.structuredContent.status).toBe("login_required")
    expect(widened.structuredContent.login_url).toBe(s.elicitations[1]?.url)
    await fx.sim.grant({ flow: widened.structuredContent.login_url, userId: "alice" })
    const done = await s.call("nc_auth_check_status")
    expect(done.structuredContent).toMatchObject({ status: "provisioned", scopes: ["calendar.read", "notes.read"] })
    await vi.waitFor(() => expect(s.completedElicitations).toHaveLength(2))
  })
})

describe("form-mode elicitation", () => {
  it("accept with acknowledged: pending; the form asked for the acknowledged box and showed the URL", async () => {
    const s = await start({ capabilities: FORM_MODE, answers: ["accept"] })
    const r = await s.call("nc_auth_provision_access")
    expect(r.structuredContent).toMatchObject({ status: "pending", success: true })
    expect(s.elicitations).toHaveLength(1)
    const form = s.elicitations[0]
    expect(form?.mode).toBe("form")
    expect(form?.message).toContain(r.structuredContent.login_url)
    expect(form?.requestedSchema).toMatchObject({
      type: "object",
      properties: { acknowledged: { type: "boolean" } },
      required: ["acknowledged"]
    })
    await fx.sim.grant({ flow: r.structuredContent.login_url, userId: "alice" })
    expect((await s.call("nc_auth_check_status")).structuredContent.status).toBe("provisioned")
    // No URL elicitation, so nothing to notify.
    expect(s.completedElicitations).toEqual([])
  })

  it("decline: declined, and the flow is gone", async () => {
    const s = await start({ capabilities: FORM_MODE, answers: ["decline"] })
    const r = await s.call("nc_auth_provision_access")
    expect(r.structuredContent).toMatchObject({ status: "declined", error_code: "LoginDeclined" })
    expect((await s.call("nc_auth_check_status")).structuredContent.status).toBe("not_initiated")
  })

  it("a client declaring `elicitation: {}` gets the form", async () => {
    const s = await start({ capabilities: { elicitation: {} }, answers: ["accept"] })
    const r = await s.call("nc_auth_provision_access")
    expect(r.structuredContent.status).toBe("pending")
    expect(s.elicitations.map((e) => e.mode)).toEqual(["form"])
  })
})

describe("no elicitation support", () => {
  it("login_required with the URL in the message", async () => {
    const s = await start({})
    const r = await s.call("nc_auth_provision_access", { scopes: ["notes:read"] })
    expect(r.isError ?? false).toBe(false)
    expect(r.structuredContent).toMatchObject({ status: "login_required", success: true, requested_scopes: ["notes.read"] })
    expect(r.structuredContent.login_url).toMatch(new RegExp(`^${fx.sim.url}/index.php/login/v2/flow/`))
    expect(r.structuredContent.message).toContain(r.structuredContent.login_url)
    expect(s.elicitations).toEqual([])
  })
})
