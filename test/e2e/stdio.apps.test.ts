/**
 * The apps end to end over the real process (stdio, the bundle in dist/): one
 * path per app, through provisioning. Their behaviour is tested in process,
 * next to each app (test/apps/<app>/tools.test.ts).
 */
import { describe, expect, it } from "vitest"
import { useStdioFixture } from "../support/stdioServer.js"

const fx = useStdioFixture("ada-local")

describe("apps over stdio", () => {
  it("provision notes and files, create a note and read it back, write a file and read it back", async () => {
    const session = await fx.start()
    const started = await session.call("nc_auth_provision_access", { scopes: ["notes.write", "notes.read", "files.write", "files.read"] })
    await fx.sim.grant({ flow: started.structuredContent.login_url, userId: "ada-5c7e" })
    expect((await session.call("nc_auth_check_status")).structuredContent.status).toBe("provisioned")

    const created = await session.call("nc_notes_create", { title: "Plan", content: "Ship it" })
    expect(created.structuredContent).toMatchObject({ status: "created", success: true })
    const id = (created.structuredContent["note"] as { readonly id: number }).id
    expect((await session.call("nc_notes_get", { id })).structuredContent).toMatchObject({ note: { content: "Ship it" } })

    expect((await session.call("nc_files_write", { path: "plan.md", content: "# Plan" })).structuredContent.status).toBe("created")
    expect((await session.call("nc_files_read", { path: "plan.md" })).structuredContent).toMatchObject({ content: "# Plan" })
    expect((await fx.sim.readFile({ userId: "ada-5c7e", path: "plan.md" })).content).toBe("# Plan")
  })

  it("a user whose Nextcloud lacks News and Cookbook sees neither family once provisioned; Sharing stays", async () => {
    await fx.sim.disableApps({ user: "ada-5c7e", apps: ["news", "cookbook"] })
    const session = await fx.start()
    const before = (await session.client.listTools()).tools.map((tool) => tool.name)
    expect(before.some((name) => name.startsWith("nc_news_"))).toBe(true)
    const started = await session.call("nc_auth_provision_access")
    await fx.sim.grant({ flow: started.structuredContent.login_url, userId: "ada-5c7e" })
    expect((await session.call("nc_auth_check_status")).structuredContent.status).toBe("provisioned")

    const after = (await session.client.listTools()).tools.map((tool) => tool.name)
    expect(after.filter((name) => name.startsWith("nc_news_") || name.startsWith("nc_cookbook_"))).toEqual([])
    expect(after).toContain("nc_sharing_list")
    expect(after).toContain("nc_notes_list")
    const refused = await session.call("nc_news_list_feeds")
    expect(refused.structuredContent).toMatchObject({ success: false, error_code: "AppNotAvailable", app: "news" })
  })
})
