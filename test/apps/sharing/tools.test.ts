/**
 * The Sharing tools end to end in process: the real MCP server and adapter
 * over InMemoryTransport, the Sharing client, and the simulated Share API.
 */
import { describe, expect, it } from "vitest"
import { Fault } from "../../../src/simulator/index.js"
import { useHarness } from "../../support/inProcess.js"
import type { ToolResult } from "../../support/stdioServer.js"
import { failed, ok } from "../../support/results.js"

const harness = useHarness({ user: "ada-local" })

interface ShareOut {
  readonly id: string
  readonly type: string
  readonly share_with?: string
  readonly permissions: ReadonlyArray<string>
  readonly expire_date: string | null
  readonly has_password: boolean
  readonly url: string
}

const UID = "ada-5c7e"

describe("sharing tools", () => {
  it("lists the tools with their hints", async () => {
    const h = await harness.start()
    const { tools } = await h.client.listTools()
    const byName = new Map(tools.map((t) => [t.name, t]))
    expect(byName.get("nc_sharing_list")?.annotations).toMatchObject({ readOnlyHint: true, openWorldHint: true })
    expect(byName.get("nc_sharing_delete")?.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: true })
    expect(byName.get("nc_sharing_create")?.inputSchema.type).toBe("object")
  })

  it("answers ProvisioningRequired before provisioning, InsufficientScope without sharing.write", async () => {
    const h = await harness.start()
    failed(await h.call("nc_sharing_list"), "ProvisioningRequired")
    await h.provision(["sharing.read"])
    ok(await h.call("nc_sharing_list"))
    const refused = failed(await h.call("nc_sharing_create", { path: "/a.txt", type: "link" }), "InsufficientScope")
    expect(refused["missing_scopes"]).toEqual(["sharing.write"])
  })

  it("create (user, link) → list with paging → update → delete → NotFound", async () => {
    const h = await harness.start()
    await h.provision(["sharing.read", "sharing.write"])
    await h.sim.seedShareable({ userId: UID, path: "/Docs/plan.md" })
    await h.sim.seedShareable({ userId: UID, path: "/Photos", type: "folder" })

    const user = ok(await h.call("nc_sharing_create", { path: "Docs/plan.md", type: "user", share_with: "alice", permissions: ["read", "update", "delete"] }))
    const userShare = user["share"] as ShareOut
    expect(userShare).toMatchObject({ type: "user", share_with: "alice", permissions: ["read", "update"] })
    expect(user.message).toContain("a file cannot carry create or delete")
    expect(userShare.url).toMatch(/\/index\.php\/f\/\d+$/)

    const link = ok(await h.call("nc_sharing_create", { path: "/Photos", type: "link", password: "long-password-1", permissions: ["read", "create"] }))
    const linkShare = link["share"] as ShareOut
    expect(linkShare).toMatchObject({ type: "link", has_password: true, permissions: ["read", "create"] })
    expect(linkShare).not.toHaveProperty("share_with")
    expect(linkShare.url.startsWith(`${h.sim.url}/index.php/s/`)).toBe(true)
    expect(JSON.stringify(link)).not.toContain("long-password-1")
    expect((await h.sim.listShares(UID)).map((s) => s.shareWith)).toEqual(["alice", null])

    failed(await h.call("nc_sharing_create", { path: "/Photos", type: "link", share_with: "alice" }), "InvalidArguments")
    failed(await h.call("nc_sharing_create", { path: "/Photos", type: "group" }), "InvalidArguments")
    failed(await h.call("nc_sharing_create", { path: "/../etc", type: "link" }), "InvalidArguments")
    failed(await h.call("nc_sharing_create", { path: "/Photos", type: "link", permissions: ["everything"] }), "InvalidArguments")
    failed(await h.call("nc_sharing_create", { path: "/Photos", type: "link", expire_date: "2026-02-30" }), "InvalidArguments")

    const page = ok(await h.call("nc_sharing_list", { limit: 1 }))
    expect((page["shares"] as Array<ShareOut>).map((s) => s.id)).toEqual([userShare.id])
    const rest = ok(await h.call("nc_sharing_list", { limit: 1, cursor: page["next_cursor"] }))
    expect((rest["shares"] as Array<ShareOut>).map((s) => s.id)).toEqual([linkShare.id])
    expect(rest["next_cursor"]).toBeNull()
    expect((ok(await h.call("nc_sharing_list", { path: "/Photos" }))["shares"] as Array<ShareOut>).map((s) => s.id)).toEqual([linkShare.id])
    failed(await h.call("nc_sharing_list", { path: "/Nowhere" }), "NotFound")

    const updated = ok(await h.call("nc_sharing_update", { id: linkShare.id, expire_date: "2999-12-31", password: null, note: "holiday" }))
    expect(updated["share"]).toMatchObject({ expire_date: "2999-12-31", has_password: false })
    failed(await h.call("nc_sharing_update", { id: linkShare.id }), "InvalidArguments")
    failed(await h.call("nc_sharing_update", { id: userShare.id, password: "x-long-password" }), "InvalidArguments")

    ok(await h.call("nc_sharing_delete", { id: linkShare.id }))
    const gone = failed(await h.call("nc_sharing_delete", { id: linkShare.id }), "NotFound")
    expect(gone.message).toContain(linkShare.id)
    failed(await h.call("nc_sharing_update", { id: linkShare.id, note: "x" }), "NotFound")
    failed(await h.call("nc_sharing_create", { path: "/missing.txt", type: "user", share_with: "alice" }), "NotFound")
  })

  it("a password or expiry the policy demands is PolicyViolation naming the rule, and nothing is shared", async () => {
    const h = await harness.start()
    await h.provision(["sharing.read", "sharing.write"])
    await h.sim.seedShareable({ userId: UID, path: "/report.pdf" })
    await h.sim.setSharingPolicy({ passwordEnforced: true, expireDateEnforced: true, expireDateDays: 7 })

    const noPassword = failed(await h.call("nc_sharing_create", { path: "/report.pdf", type: "link" }), "PolicyViolation")
    expect(noPassword.message).toContain("requires a password")
    expect(noPassword.message).toContain("files_sharing.public.password.enforced")
    failed(await h.call("nc_sharing_create", { path: "/report.pdf", type: "email", share_with: "bob@example.org" }), "PolicyViolation")
    const tooLate = failed(
      await h.call("nc_sharing_create", { path: "/report.pdf", type: "link", password: "long-password-2", expire_date: "2999-01-01" }),
      "PolicyViolation"
    )
    expect(tooLate.message).toContain("at most 7 days ahead")
    expect(await h.sim.listShares(UID)).toEqual([])

    // No expiry asked for: Nextcloud sets its own, and the answer says so.
    const created = ok(await h.call("nc_sharing_create", { path: "/report.pdf", type: "link", password: "long-password-2" }))
    const share = created["share"] as ShareOut
    expect(share.expire_date).not.toBeNull()
    expect(created.message).toContain("as its sharing policy requires")
    failed(await h.call("nc_sharing_update", { id: share.id, password: null }), "PolicyViolation")
    const keep = failed(await h.call("nc_sharing_update", { id: share.id, expire_date: null }), "PolicyViolation")
    expect(keep.message).toContain("cannot be removed")
    expect((await h.sim.listShares(UID))[0]).toMatchObject({ hasPassword: true })

    await h.sim.setSharingPolicy({ passwordEnforced: false, expireDateEnforced: false, linksEnabled: false })
    failed(await h.call("nc_sharing_create", { path: "/report.pdf", type: "link" }), "PolicyViolation")
    // A refusal the policy does not explain keeps Nextcloud's reason.
    const self = failed(await h.call("nc_sharing_create", { path: "/report.pdf", type: "user", share_with: UID }), "PermissionDenied")
    expect(self.message).toContain("Cannot share with yourself")
  })

  it("a Nextcloud 5xx is NextcloudError naming the action; a 404 from the web server is NotFound", async () => {
    const h = await harness.start()
    await h.provision(["sharing.read", "sharing.write"])
    await h.sim.injectFault({ target: "sharing.list", fault: Fault.status(503), times: 3 })
    const r = failed(await h.call("nc_sharing_list"), "NextcloudError")
    expect(r.message).toContain("while trying to list your shares")
    await h.sim.injectFault({ target: "sharing.delete", fault: Fault.status(500), times: 1 })
    failed(await h.call("nc_sharing_delete", { id: "12" }), "NextcloudError")
    await h.sim.injectFault({ target: "sharing.list", fault: Fault.status(404), times: 1 })
    failed(await h.call("nc_sharing_list"), "NotFound")
    ok(await h.call("nc_sharing_list"))
  })
})
