/** The News tools end to end in process, against the simulated News app. */
import { describe, expect, it } from "vitest"
import { Fault } from "../../../src/simulator/index.js"
import { useHarness } from "../../support/inProcess.js"
import type { ToolResult } from "../../support/stdioServer.js"
import { failed, ok } from "../../support/results.js"

const harness = useHarness({ user: "ada-local" })

interface ItemOut {
  readonly id: number
  readonly title: string
  readonly unread: boolean
  readonly starred: boolean
  readonly link: string | null
  readonly url: string
  readonly excerpt?: string
  readonly body?: string
}

const UID = "ada-5c7e"

describe("news tools", () => {
  it("hints, ProvisioningRequired, InsufficientScope", async () => {
    const h = await harness.start()
    const { tools } = await h.client.listTools()
    const byName = new Map(tools.map((t) => [t.name, t]))
    expect(byName.get("nc_news_list_items")?.annotations).toMatchObject({ readOnlyHint: true, openWorldHint: true })
    expect(byName.get("nc_news_mark_read")?.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: false })
    failed(await h.call("nc_news_list_feeds"), "ProvisioningRequired")
    await h.provision(["news.read"])
    const refused = failed(await h.call("nc_news_star", { item_ids: [1] }), "InsufficientScope")
    expect(refused["missing_scopes"]).toEqual(["news.write"])
  })

  it("feeds and folders; unread items a page at a time; mark read; star; add a feed", async () => {
    const h = await harness.start()
    await h.provision(["news.read", "news.write"])
    const folder = await h.sim.seedNewsFolder({ userId: UID, name: "Tech" })
    const feed = await h.sim.seedNewsFeed({
      userId: UID,
      url: "https://blog.example/feed",
      title: "Blog",
      folderId: folder.id,
      items: [
        { title: "one", url: "https://blog.example/1", body: "<p>First <b>post</b> &amp; more</p>" },
        { title: "two", unread: false },
        { title: "three" },
        { title: "four" }
      ]
    })

    const feeds = ok(await h.call("nc_news_list_feeds"))
    expect(feeds["feeds"]).toEqual([
      expect.objectContaining({ id: feed.id, title: "Blog", folder_id: folder.id, unread_count: 3, url: `${h.sim.url}/index.php/apps/news/#/items/feeds/${feed.id}` })
    ])
    expect(feeds["folders"]).toEqual([{ id: folder.id, name: "Tech" }])

    const first = ok(await h.call("nc_news_list_items", { limit: 2 }))
    const page1 = first["items"] as Array<ItemOut>
    expect(page1.map((i) => i.title)).toEqual(["four", "three"])
    expect(first["next_cursor"]).toBe(String(page1[1]?.id))
    const second = ok(await h.call("nc_news_list_items", { limit: 2, cursor: first["next_cursor"] }))
    const page2 = second["items"] as Array<ItemOut>
    expect(page2.map((i) => i.title)).toEqual(["one"])
    expect(second["next_cursor"]).toBeNull()
    expect(page2[0]).toMatchObject({ link: "https://blog.example/1", excerpt: "First post & more" })
    expect(page2[0]?.url).toBe(`${h.sim.url}/index.php/apps/news/#/items/feeds/${feed.id}`)
    const withRead = ok(await h.call("nc_news_list_items", { feed_id: feed.id, include_read: true, include_body: true }))
    expect((withRead["items"] as Array<ItemOut>).map((i) => i.title)).toEqual(["four", "three", "two", "one"])
    expect((withRead["items"] as Array<ItemOut>)[3]?.body).toContain("<b>post</b>")
    failed(await h.call("nc_news_list_items", { feed_id: feed.id, starred: true }), "InvalidArguments")
    failed(await h.call("nc_news_list_items", { cursor: "not-a-cursor" }), "InvalidArguments")

    ok(await h.call("nc_news_mark_read", { item_ids: page1.map((i) => i.id) }))
    ok(await h.call("nc_news_star", { item_ids: [page2[0]?.id] }))
    const items = await h.sim.listNewsItems(UID)
    expect(items.filter((i) => i.unread).map((i) => i.title)).toEqual(["one"])
    expect(items.filter((i) => i.starred).map((i) => i.title)).toEqual(["one"])
    const starred = ok(await h.call("nc_news_list_items", { starred: true }))
    expect((starred["items"] as Array<ItemOut>).map((i) => i.title)).toEqual(["one"])
    ok(await h.call("nc_news_mark_read", { item_ids: [page1[0]?.id], unread: true }))
    expect((await h.sim.listNewsItems(UID)).find((i) => i.title === "four")?.unread).toBe(true)

    const missing = failed(await h.call("nc_news_star", { item_ids: [987_654] }), "NotFound")
    expect(missing.message).toContain("987654")
    failed(await h.call("nc_news_mark_read", { item_ids: [] }), "InvalidArguments")

    await h.sim.publishRemoteFeed({ url: "https://news.example/rss", title: "World", items: [{ title: "w1" }] })
    const added = ok(await h.call("nc_news_add_feed", { url: "https://news.example/rss", folder_id: folder.id }))
    expect(added["feed"]).toMatchObject({ title: "World", folder_id: folder.id, unread_count: 1 })
    failed(await h.call("nc_news_add_feed", { url: "https://news.example/rss" }), "Conflict")
    failed(await h.call("nc_news_add_feed", { url: "https://void.example/" }), "NotFound")
    failed(await h.call("nc_news_add_feed", { url: "file:///etc/passwd" }), "InvalidArguments")
  })

  it("a Nextcloud 5xx is NextcloudError naming the action", async () => {
    const h = await harness.start()
    await h.provision(["news.read"])
    await h.sim.injectFault({ target: "news.items", fault: Fault.status(502), times: 3 })
    const r = failed(await h.call("nc_news_list_items"), "NextcloudError")
    expect(r.message).toContain("while trying to list your News items")
    ok(await h.call("nc_news_list_items"))
  })
})
