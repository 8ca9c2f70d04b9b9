/** The News client against the simulated News app (only News mounted). */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import { News, NewsLive } from "../../../src/apps/news/Client.js"
import { newsSimulator } from "../../../src/apps/news/simulator.js"
import { withTransport } from "../../../src/nextcloud/layer.js"
import { NextcloudConfig } from "../../../src/nextcloud/NextcloudConfig.js"
import type { Credentials } from "../../../src/nextcloud/Ocs.js"
import * as Simulator from "../../../src/simulator/index.js"

const setup = Effect.gen(function* () {
  const sim = yield* Simulator.make({ apps: [newsSimulator] })
  const pw = yield* sim.createAppPassword({ userId: "ada-5c7e" })
  const account: Credentials = { loginName: "ada@example.org", appPassword: Redacted.make(pw.password) }
  const context = yield* Layer.build(withTransport(NewsLive).pipe(Layer.provide(NextcloudConfig.make(sim.url))))
  const news = yield* Effect.provide(News, context)
  return { sim, account, news }
})

describe("News client against the simulator", () => {
  it.scopedLive("folders, feeds with unread counts, items by feed/folder/unread/starred with offset paging", () =>
    Effect.gen(function* () {
      const { sim, account, news } = yield* setup
      const folder = yield* sim.seedNewsFolder({ userId: "ada-5c7e", name: "Tech" })
      const a = yield* sim.seedNewsFeed({
        userId: "ada-5c7e",
        url: "https://a.example/feed.xml",
        title: "A",
        folderId: folder.id,
        items: [{ title: "a1" }, { title: "a2", unread: false }, { title: "a3", starred: true }]
      })
      const b = yield* sim.seedNewsFeed({ userId: "ada-5c7e", url: "https://b.example/rss", title: "B", items: [{ title: "b1" }] })

      expect(yield* news.folders(account)).toEqual([{ id: folder.id, name: "Tech" }])
      const feeds = yield* news.feeds(account)
      expect(feeds.feeds.map((f) => [f.title, f.unreadCount, f.folderId])).toEqual([["A", 2, folder.id], ["B", 1, null]])
      expect(feeds.starredCount).toBe(1)

      const unread = yield* news.items(account, { type: "all", id: 0, getRead: false, batchSize: 10, offset: 0 })
      expect(unread.map((i) => i.title)).toEqual(["b1", "a3", "a1"])
      const firstTwo = yield* news.items(account, { type: "all", id: 0, getRead: true, batchSize: 2, offset: 0 })
      expect(firstTwo.map((i) => i.title)).toEqual(["b1", "a3"])
      const after = yield* news.items(account, { type: "all", id: 0, getRead: true, batchSize: 2, offset: firstTwo[1]?.id ?? 0 })
      expect(after.map((i) => i.title)).toEqual(["a2", "a1"])
      expect((yield* news.items(account, { type: "feed", id: b.id, getRead: true, batchSize: -1, offset: 0 })).map((i) => i.title)).toEqual(["b1"])
      expect((yield* news.items(account, { type: "folder", id: folder.id, getRead: false, batchSize: -1, offset: 0 })).map((i) => i.title)).toEqual(["a3", "a1"])
      expect((yield* news.items(account, { type: "starred", id: 0, getRead: true, batchSize: -1, offset: 0 })).map((i) => i.title)).toEqual(["a3"])

      const [a1, , a3] = a.itemIds
      yield* news.markRead(account, [a1 ?? 0], true)
      yield* news.markRead(account, [a3 ?? 0, 999_999], true)
      yield* news.star(account, [a1 ?? 0], true)
      const items = yield* sim.listNewsItems("ada-5c7e")
      expect(items.filter((i) => i.unread).map((i) => i.title)).toEqual(["b1"])
      expect(items.filter((i) => i.starred).map((i) => i.title)).toEqual(["a3", "a1"])
      expect((yield* Effect.flip(news.markRead(account, [999_999], true)))._tag).toBe("NextcloudNotFound")
      expect((yield* Effect.flip(news.star(account, [999_999], false)))._tag).toBe("NextcloudNotFound")
    }))

  it.scopedLive("adding a feed: found on the web, 409 when subscribed, 404 when nothing is there", () =>
    Effect.gen(function* () {
      const { sim, account, news } = yield* setup
      yield* sim.publishRemoteFeed({ url: "https://c.example/atom", title: "C", items: [{ title: "c1" }, { title: "c2" }] })
      const feed = yield* news.addFeed(account, "https://c.example/atom", null)
      expect(feed).toMatchObject({ title: "C", url: "https://c.example/atom", unreadCount: 2 })
      expect((yield* Effect.flip(news.addFeed(account, "https://c.example/atom", null)))._tag).toBe("NextcloudConflict")
      expect((yield* Effect.flip(news.addFeed(account, "https://nothing.example/", null)))._tag).toBe("NextcloudNotFound")
      expect((yield* sim.counters).requests["news.feeds.create"]).toBe(3)
    }))
})

describe("News hooks over HTTP", () => {
  it.scopedLive("seed folders and feeds, publish a remote feed, list items through connectSimulator", () =>
    Effect.gen(function* () {
      const { sim } = yield* setup
      const remote = Simulator.connectSimulator(sim.url, { apps: [newsSimulator] })
      const folder = yield* Effect.promise(() => remote.seedNewsFolder({ userId: "ada-5c7e", name: "F" }))
      const feed = yield* Effect.promise(() =>
        remote.seedNewsFeed({ userId: "ada-5c7e", url: "https://r.example/f", folderId: folder.id, items: [{ title: "t" }] })
      )
      expect(feed.itemIds).toHaveLength(1)
      yield* Effect.promise(() => remote.publishRemoteFeed({ url: "https://r.example/g", title: "G", items: [] }))
      expect(yield* Effect.promise(() => remote.listNewsItems("ada-5c7e"))).toEqual([
        expect.objectContaining({ title: "t", unread: true, starred: false })
      ])
    }))
})
