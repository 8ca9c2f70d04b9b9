/**
 * Only the tools a user can use: once a user is provisioned, the server asks
 * their Nextcloud which apps it has enabled for them (navigation and
 * capabilities) and leaves the tools of the others out of `tools/list`; a call
 * of such a tool answers `AppNotAvailable` naming the app; a client that
 * listed the tools hears `notifications/tools/list_changed` when its list
 * changes.
 */
import { ToolListChangedNotificationSchema } from "@modelcontextprotocol/sdk/types.js"
import { Effect, Either, Layer, Redacted, Schema } from "effect"
import { describe, expect, it } from "vitest"
import { APPS } from "../../src/apps/registry.js"
import { NextcloudApps, NextcloudAppsLive } from "../../src/nextcloud/EnabledApps.js"
import { HttpClientLive } from "../../src/nextcloud/HttpClientLive.js"
import { NextcloudConfig } from "../../src/nextcloud/NextcloudConfig.js"
import { useHarness } from "../support/inProcess.js"

const harness = useHarness()

const names = async (h: Awaited<ReturnType<typeof harness.start>>) =>
  (await h.client.listTools()).tools.map((tool) => tool.name)

describe("the apps a user's Nextcloud has", () => {
  it("are read from the user's navigation and capabilities", async () => {
    const h = await harness.start()
    const appPassword = await h.provision(null)
    await h.sim.disableApps({ user: "ada-5c7e", apps: ["notes"] })
    const enabled = await Effect.runPromise(
      Effect.flatMap(NextcloudApps, (client) =>
        client.enabledApps({ loginName: "ada@example.org", appPassword: Redacted.make(appPassword) })
      ).pipe(
        Effect.provide(NextcloudAppsLive.pipe(Layer.provide(HttpClientLive), Layer.provideMerge(NextcloudConfig.make(h.sim.url, {}))))
      )
    )
    expect([...enabled.navigation]).toContain("files")
    expect([...enabled.navigation]).not.toContain("notes")
    expect([...enabled.capabilities]).toContain("core")
    expect([...enabled.capabilities]).not.toContain("notes")
  })

  it("before provisioning, every tool is listed", async () => {
    const h = await harness.start()
    await h.sim.disableApps({ apps: ["notes"] })
    const listed = await names(h)
    expect(listed).toContain("nc_notes_list")
    expect(listed).toContain("nc_files_list")
  })

  it("a provisioned user whose Nextcloud lacks an app sees none of its tools, and a call names the app", async () => {
    const h = await harness.start()
    await h.sim.disableApps({ user: "ada-5c7e", apps: ["notes"] })
    await h.provision(null)
    const listed = await names(h)
    expect(listed.filter((name) => name.startsWith("nc_notes_"))).toEqual([])
    expect(listed).toContain("nc_files_list")
    expect(listed).toContain("nc_auth_check_status")

    const result = await h.call("nc_notes_list", {})
    expect(result.isError).toBe(true)
    expect(result.structuredContent).toMatchObject({ success: false, error_code: "AppNotAvailable", app: "notes" })
    expect(String(result.structuredContent.message)).toMatch(/Notes is not enabled in your Nextcloud/)
    // Apps that are there keep working.
    const files = await h.call("nc_files_list", { path: "/" })
    expect(files.structuredContent.success).toBe(true)
  })

  it("a client that listed the tools is told when provisioning changes its list", async () => {
    const h = await harness.start()
    await h.sim.disableApps({ user: "ada-5c7e", apps: ["notes"] })
    let changes = 0
    h.client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
      changes += 1
    })
    expect(await names(h)).toContain("nc_notes_list")
    await h.provision(null)
    // Sent before the answer of the call that completed the login.
    expect(changes).toBe(1)
    expect(await names(h)).not.toContain("nc_notes_list")
    // Nothing changed since: no further notice.
    await h.call("nc_auth_check_status", {})
    expect(changes).toBe(1)
  })

  it("a new login as an account that has the app brings its tools back", async () => {
    const h = await harness.start()
    await h.sim.disableApps({ user: "ada-5c7e", apps: ["notes"] })
    await h.provision(null)
    expect(await names(h)).not.toContain("nc_notes_list")
    await h.sim.disableApps({ user: "ada-5c7e", apps: [] })
    // A revocation and a new login change the grant, so the apps are asked again.
    expect((await h.call("nc_auth_revoke_access", {})).structuredContent.status).toBe("revoked")
    await h.provision(null)
    expect(await names(h)).toContain("nc_notes_list")
  })

  it("each app that can be missing: its tools leave the list, and a call answers AppNotAvailable naming it", async () => {
    const h = await harness.start()
    const optional = APPS.filter((app) => app.presence !== undefined)
    // The Nextcloud app ids behind them, as the simulated navigation and capabilities know them.
    const nextcloudIds = ["notes", "deck", "tables", "files_sharing", "news", "cookbook"]
    await h.sim.disableApps({ user: "ada-5c7e", apps: nextcloudIds })
    await h.provision(null)
    const listed = new Set(await names(h))
    for (const app of optional) {
      for (const tool of app.tools) expect(listed.has(tool.name), tool.name).toBe(false)
      // Any of its tools that takes no required argument shows the refusal.
      const tool = app.tools.find((candidate) => Either.isRight(Schema.decodeUnknownEither(candidate.input)({})))
      expect(tool, `${app.id} has a tool callable without arguments`).toBeDefined()
      const result = await h.call(tool?.name ?? "", {})
      expect(result.structuredContent, tool?.name).toMatchObject({ success: false, error_code: "AppNotAvailable", app: app.id })
    }
    // The core apps stay.
    for (const tool of ["nc_files_list", "nc_calendar_list_calendars", "nc_tasks_list", "nc_contacts_list_addressbooks"]) {
      expect(listed.has(tool), tool).toBe(true)
    }
  })

  it("every app in the registry declares how to recognise it, or is a core part of Nextcloud", () => {
    // WebDAV, CalDAV and CardDAV are Nextcloud's own (the dav app): always there, whatever web apps are enabled.
    const core = new Set(["files", "calendar", "todo", "contacts"])
    for (const app of APPS) {
      if (core.has(app.id)) expect(app.presence).toBeUndefined()
      else expect(app.presence).toBeDefined()
    }
  })
})
