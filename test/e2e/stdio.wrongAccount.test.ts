/**
 * Over stdio against the simulated Nextcloud: a login adding scopes that is
 * approved while the browser is signed in to another Nextcloud account
 * changes nothing, and the client waiting for it is told why; the same
 * account signing in with its email replaces the grant as usual.
 */
import { describe, expect, it } from "vitest"
import { type StdioSession, useStdioFixture } from "../support/stdioServer.js"

const fx = useStdioFixture("alice-local")

/** alice provisioned with notes.read, and a login adding files.read waiting for approval. */
const wideningPending = async (session: StdioSession) => {
  const started = await session.call("nc_auth_provision_access", { scopes: ["notes.read"] })
  const granted = await fx.sim.grant({ flow: started.structuredContent.login_url, userId: "alice" })
  expect((await session.call("nc_auth_check_status")).structuredContent.status).toBe("provisioned")
  const widening = await session.call("nc_auth_update_scopes", { add_scopes: ["files.read"] })
  expect(widening.structuredContent.status).toBe("login_required")
  return { alicePassword: granted.appPassword, loginUrl: widening.structuredContent.login_url }
}

describe("a widening approved as another Nextcloud account", () => {
  it("keeps alice's access, revokes the other account's new password, and tells the waiting client", async () => {
    const session = await fx.start()
    const { alicePassword, loginUrl } = await wideningPending(session)

    const waiting = session.call("nc_auth_check_status", { wait_seconds: 60 })
    const adas = await fx.sim.grant({ flow: loginUrl, userId: "ada-5c7e" })
    const told = await waiting
    expect(told.isError).toBe(true)
    expect(told.structuredContent).toMatchObject({ status: "error", success: false, error_code: "LoginWrongAccount" })
    expect(told.structuredContent.message).toContain(`approved in Nextcloud as "ada@example.org"`)
    expect(told.structuredContent.message).toContain(`belongs to the Nextcloud account "alice"`)
    expect(told.structuredContent.message).toContain("Nothing changed")

    expect(await fx.sim.appPasswordStatus(adas.appPassword)).toBe("revoked")
    expect(await fx.sim.appPasswordStatus(alicePassword)).toBe("alive")
    expect(session.stderr()).not.toContain(adas.appPassword)
  })

  it("the same account signing in with its email replaces the grant", async () => {
    const session = await fx.start()
    const { alicePassword, loginUrl } = await wideningPending(session)
    await fx.sim.grant({ flow: loginUrl, userId: "alice", loginName: "alice@example.org" })
    const done = await session.call("nc_auth_check_status", { wait_seconds: 60 })
    expect(done.structuredContent).toMatchObject({
      status: "provisioned",
      username: "alice@example.org",
      scopes: ["files.read", "notes.read"]
    })
    expect(await fx.sim.appPasswordStatus(alicePassword)).toBe("revoked")
  })
})
