/**
 * The Sharing client against the simulated Share API (only the Sharing part
 * mounted), and the part's wire behaviour: OCS envelopes and checks, the
 * policy published in the capabilities.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import { Sharing, SharingLive } from "../../../src/apps/sharing/Client.js"
import { sharingSimulator } from "../../../src/apps/sharing/simulator.js"
import { withTransport } from "../../../src/nextcloud/layer.js"
import { NextcloudConfig } from "../../../src/nextcloud/NextcloudConfig.js"
import type { Credentials } from "../../../src/nextcloud/Ocs.js"
import * as Simulator from "../../../src/simulator/index.js"

const setup = Effect.gen(function* () {
  const sim = yield* Simulator.make({ apps: [sharingSimulator] })
  const pw = yield* sim.createAppPassword({ userId: "ada-5c7e" })
  const account: Credentials = { loginName: "ada@example.org", appPassword: Redacted.make(pw.password) }
  const context = yield* Layer.build(withTransport(SharingLive).pipe(Layer.provide(NextcloudConfig.make(sim.url))))
  const sharing = yield* Effect.provide(Sharing, context)
  return { sim, account, sharing, auth: `Basic ${Buffer.from(`ada@example.org:${pw.password}`).toString("base64")}` }
})

describe("Sharing client against the simulator", () => {
  it.scopedLive("creates user, group, email and link shares, lists them by path and subfiles, updates and deletes", () =>
    Effect.gen(function* () {
      const { sim, account, sharing } = yield* setup
      yield* sim.seedShareable({ userId: "ada-5c7e", path: "/Docs/report.pdf" })
      yield* sim.seedShareable({ userId: "ada-5c7e", path: "/Docs", type: "folder" })
      yield* sim.addShareGroup("staff")

      const user = yield* sharing.create(account, { path: "/Docs/report.pdf", shareType: "user", shareWith: "alice", permissions: 31 })
      // A file never carries create or delete.
      expect(user).toMatchObject({ share_type: 0, share_with: "alice", path: "/Docs/report.pdf", item_type: "file", permissions: 19 })
      const group = yield* sharing.create(account, { path: "/Docs", shareType: "group", shareWith: "staff" })
      expect(group.permissions).toBe(31)
      const link = yield* sharing.create(account, { path: "/Docs", shareType: "link", password: "s3cret-pass", label: "Team" })
      expect(link.share_type).toBe(3)
      expect(link.url).toMatch(/\/index\.php\/s\/[A-Za-z0-9_-]+$/)
      // The password itself never comes back; share_with holds its hash.
      expect(JSON.stringify(link)).not.toContain("s3cret-pass")
      const email = yield* sharing.create(account, { path: "/Docs/report.pdf", shareType: "email", shareWith: "bob@example.org", expireDate: "2999-01-31" })
      expect(email.expiration).toBe("2999-01-31 00:00:00")

      expect((yield* sharing.list(account)).map((s) => s.id)).toEqual([user.id, group.id, link.id, email.id])
      expect((yield* sharing.list(account, { path: "/Docs" })).map((s) => s.id)).toEqual([group.id, link.id])
      expect((yield* sharing.list(account, { path: "/Docs", subfiles: true })).map((s) => s.id)).toEqual([user.id, email.id])
      expect((yield* Effect.flip(sharing.list(account, { path: "/Nope" })))._tag).toBe("ShareRefused")
      expect(yield* Effect.flip(sharing.list(account, { path: "/Docs/report.pdf", subfiles: true }))).toMatchObject({ status: 400 })

      const updated = yield* sharing.update(account, link.id, { expireDate: "2999-02-01", note: "for the team" })
      expect(updated).toMatchObject({ expiration: "2999-02-01 00:00:00", note: "for the team", label: "Team" })
      expect((yield* sharing.get(account, link.id)).note).toBe("for the team")
      yield* sharing.delete(account, link.id)
      expect(yield* Effect.flip(sharing.get(account, link.id))).toMatchObject({ _tag: "ShareRefused", status: 404 })
      expect(yield* Effect.flip(sharing.delete(account, link.id))).toMatchObject({ _tag: "ShareRefused", status: 404 })
    }))

  it.scopedLive("refusals carry Nextcloud's reason; the policy comes from the capabilities", () =>
    Effect.gen(function* () {
      const { sim, account, sharing } = yield* setup
      yield* sim.seedShareable({ userId: "ada-5c7e", path: "/a.txt" })
      expect(yield* sharing.policy(account)).toMatchObject({ linkPasswordEnforced: false, linkExpiryEnforced: false, linksEnabled: true })
      yield* sim.setSharingPolicy({ passwordEnforced: true, expireDateEnforced: true, expireDateDays: 10 })
      expect(yield* sharing.policy(account)).toMatchObject({
        linkPasswordEnforced: true,
        mailPasswordEnforced: true,
        linkExpiryEnforced: true,
        linkExpiryDays: 10
      })
      expect(yield* Effect.flip(sharing.create(account, { path: "/a.txt", shareType: "link" }))).toMatchObject({
        _tag: "ShareRefused",
        status: 403,
        reason: "Passwords are enforced for link and mail shares"
      })
      // Enforced expiry: a link gets the default lifetime; later than that is refused.
      const link = yield* sharing.create(account, { path: "/a.txt", shareType: "link", password: "pw-long-enough" })
      expect(link.expiration).not.toBeNull()
      expect(yield* Effect.flip(sharing.update(account, link.id, { expireDate: "" }))).toMatchObject({ status: 400 })
      expect(yield* Effect.flip(sharing.update(account, link.id, { password: "" }))).toMatchObject({
        status: 400,
        reason: "Passwords are enforced for link and mail shares"
      })
      expect(yield* Effect.flip(sharing.update(account, link.id, { expireDate: "2999-01-01" }))).toMatchObject({ status: 404 })
      expect(yield* Effect.flip(sharing.create(account, { path: "/a.txt", shareType: "user", shareWith: "nobody" }))).toMatchObject({ status: 404 })
      expect(yield* Effect.flip(sharing.create(account, { path: "/missing", shareType: "user", shareWith: "alice" }))).toMatchObject({ status: 404 })
    }))

  it.scopedLive("OCS wire: 412 without OCS-APIRequest, 401 with 997, XML without format=json", () =>
    Effect.gen(function* () {
      const { sim, auth } = yield* setup
      const url = `${sim.url}/ocs/v2.php/apps/files_sharing/api/v1/shares`
      const noHeader = yield* Effect.promise(() => fetch(url, { headers: { Authorization: auth } }))
      expect(noHeader.status).toBe(412)
      const bad = yield* Effect.promise(() => fetch(`${url}?format=json`, { headers: { Authorization: "Basic eDp5", "OCS-APIRequest": "true" } }))
      expect(bad.status).toBe(401)
      expect(((yield* Effect.promise(() => bad.json())) as { ocs: { meta: { statuscode: number } } }).ocs.meta.statuscode).toBe(997)
      const xml = yield* Effect.promise(() => fetch(url, { headers: { Authorization: auth, "OCS-APIRequest": "true" } }))
      expect(xml.headers.get("content-type")).toContain("xml")
      const caps = yield* Effect.promise(() =>
        fetch(`${sim.url}/ocs/v2.php/cloud/capabilities?format=json`, { headers: { Authorization: auth, "OCS-APIRequest": "true" } })
      )
      const body = (yield* Effect.promise(() => caps.json())) as { ocs: { data: { capabilities: Record<string, unknown> } } }
      expect(Object.keys(body.ocs.data.capabilities)).toEqual(expect.arrayContaining(["core", "files_sharing", "sharebymail"]))
      expect((yield* sim.counters).requests["ocs.capabilities"]).toBe(1)
      expect((yield* sim.counters).requests["sharing.list"]).toBe(3)
    }))
})

describe("Sharing hooks over HTTP", () => {
  it.scopedLive("seed, policy and listing work through connectSimulator", () =>
    Effect.gen(function* () {
      const { sim } = yield* setup
      const remote = Simulator.connectSimulator(sim.url, { apps: [sharingSimulator] })
      expect(yield* Effect.promise(() => remote.seedShareable({ userId: "ada-5c7e", path: "/x/y.txt" }))).toMatchObject({ path: "/x/y.txt" })
      yield* Effect.promise(() => remote.addShareGroup("team"))
      expect(yield* Effect.promise(() => remote.setSharingPolicy({ passwordEnforced: true }))).toMatchObject({ passwordEnforced: true, linksEnabled: true })
      expect(yield* Effect.promise(() => remote.listShares("ada-5c7e"))).toEqual([])
      const refused = yield* Effect.promise(() => remote.listShares("nobody").then(() => "listed", (e: { reason: string }) => e.reason))
      expect(refused).toBe("UnknownUser")
    }))
})
