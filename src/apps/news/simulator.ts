/**
 * The News app in the simulated Nextcloud (docs/nextcloud-protocol.md
 * "News"): API v1-3 (`/index.php/apps/news/api/v1-3/`) as News answers it —
 * Basic auth, JSON with PHP's escaped slashes, folders and feeds with their
 * unread counts, items newest first with `batchSize`/`offset` (only ids below
 * the offset) and `getRead`, read/unread and star/unstar one item (404 when
 * unknown) or several (unknown ids skipped), adding a feed (409 when already
 * subscribed, 404 when nothing can be read at the URL), and refusals as
 * `{"message": …}`.
 *
 * What "the internet" serves is a hook: feeds registered as remote can be
 * subscribed to, with their items.
 */
import { createHash } from "node:crypto"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect, Schema } from "effect"
import { requestAuth } from "../../simulator/auth.js"
import { Empty, hook } from "../../simulator/hooks.js"
import { jsonResponse, searchParams } from "../../simulator/http.js"
import type { SimulatorApp } from "../../simulator/SimulatorApp.js"
import { knownUser, now, SimulatorHookError, type SimState } from "../../simulator/state.js"

export interface SimFeed {
  readonly id: number
  readonly url: string
  readonly title: string
  readonly link: string
  folderId: number | null
  /** Unix seconds. */
  readonly added: number
}

export interface SimItem {
  readonly id: number
  readonly feedId: number
  readonly guid: string
  readonly url: string
  readonly title: string
  readonly author: string | null
  readonly body: string
  /** Unix seconds. */
  readonly pubDate: number
  unread: boolean
  starred: boolean
  /** Microseconds, as News keeps it. */
  lastModified: number
}

export interface SeedItem {
  readonly title: string
  readonly url?: string | undefined
  readonly body?: string | undefined
  readonly author?: string | undefined
  readonly pubDate?: number | undefined
  readonly unread?: boolean | undefined
  readonly starred?: boolean | undefined
}

export interface SeedFeed {
  readonly userId: string
  readonly url: string
  readonly title?: string | undefined
  readonly folderId?: number | null | undefined
  readonly items?: ReadonlyArray<SeedItem> | undefined
}

export interface RemoteFeed {
  readonly url: string
  readonly title: string
  readonly items: ReadonlyArray<SeedItem>
}

interface UserNews {
  readonly folders: Map<number, { readonly id: number; name: string }>
  readonly feeds: Map<number, SimFeed>
  readonly items: Map<number, SimItem>
}

interface NewsStore {
  readonly users: Map<string, UserNews>
  /** URL → what a fetch of it finds. */
  readonly remote: Map<string, RemoteFeed>
}

const newsOf = (store: NewsStore, userId: string): UserNews => {
  let news = store.users.get(userId)
  if (news === undefined) {
    news = { folders: new Map(), feeds: new Map(), items: new Map() }
    store.users.set(userId, news)
  }
  return news
}

const md5 = (text: string) => createHash("md5").update(text).digest("hex")

const addItems = (state: SimState, news: UserNews, feed: SimFeed, items: ReadonlyArray<SeedItem>, at: number) => {
  for (const seed of items) {
    const id = state.nextId++
    const url = seed.url ?? `${feed.link.replace(/\/$/, "")}/${id}`
    news.items.set(id, {
      id,
      feedId: feed.id,
      guid: url,
      url,
      title: seed.title,
      author: seed.author ?? null,
      body: seed.body ?? "",
      pubDate: seed.pubDate ?? Math.floor(at / 1000),
      unread: seed.unread ?? true,
      starred: seed.starred ?? false,
      lastModified: at * 1000
    })
  }
}

const subscribe = (state: SimState, news: UserNews, url: string, title: string, folderId: number | null, items: ReadonlyArray<SeedItem>, at: number): SimFeed => {
  const feed: SimFeed = { id: state.nextId++, url, title, link: url.replace(/\/[^/]*$/, "/"), folderId, added: Math.floor(at / 1000) }
  news.feeds.set(feed.id, feed)
  addItems(state, news, feed, items, at)
  return feed
}

/** `Feed::toAPI`. */
const feedJson = (news: UserNews, feed: SimFeed): Record<string, unknown> => ({
  id: feed.id,
  url: feed.url,
  title: feed.title,
  faviconLink: `${feed.link}favicon.ico`,
  added: feed.added,
  folderId: feed.folderId,
  unreadCount: [...news.items.values()].filter((i) => i.feedId === feed.id && i.unread).length,
  ordering: 0,
  link: feed.link,
  pinned: false,
  updateErrorCount: 0,
  lastUpdateError: null,
  nextUpdateTime: null
})

/** `Item::toAPI`. */
const itemJson = (item: SimItem): Record<string, unknown> => ({
  id: item.id,
  guid: item.guid,
  guidHash: md5(item.guid),
  url: item.url,
  title: item.title,
  author: item.author,
  pubDate: item.pubDate,
  updatedDate: null,
  body: item.body,
  enclosureMime: null,
  enclosureLink: null,
  mediaThumbnail: null,
  mediaDescription: null,
  feedId: item.feedId,
  unread: item.unread,
  starred: item.starred,
  filtered: false,
  lastModified: String(item.lastModified),
  rtl: false,
  fingerprint: md5(`${item.title}${item.url}${item.body}`),
  contentHash: md5(item.body)
})

const message = (status: number, text: string) => jsonResponse({ message: text }, status)

/** How the App Framework reads an `int` / `bool` controller parameter. */
const intParam = (value: string | null, fallback: number): number => (value !== null && /^-?\d+$/.test(value) ? Number(value) : fallback)
const boolParam = (value: string | null, fallback: boolean): boolean =>
  value === null ? fallback : value === "false" || value === "0" || value === "" ? false : true

type Handler = (
  userId: string,
  request: HttpServerRequest.HttpServerRequest,
  params: Readonly<Record<string, string | undefined>>,
  at: number
) => Effect.Effect<HttpServerResponse.HttpServerResponse>

const newsRoute = (state: SimState, handler: Handler) =>
  Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    const auth = yield* requestAuth(state, request)
    if (auth._tag === "Throttled") return message(429, "Reached maximum delay")
    if (auth._tag === "Failed" || auth._tag === "Anonymous") {
      return HttpServerResponse.setHeader(message(401, "Current user is not logged in"), "WWW-Authenticate", 'Basic realm="Authorisation Required"')
    }
    const params = yield* HttpRouter.params
    const at = yield* now(state)
    return yield* handler(auth.user.userId, request, params, at)
  })

const readJson = (request: HttpServerRequest.HttpServerRequest) =>
  Effect.gen(function* () {
    const text = yield* Effect.orElseSucceed(request.text, () => "")
    if (text.trim() === "") return {} as Record<string, unknown>
    const parsed = yield* Effect.try(() => JSON.parse(text) as unknown).pipe(Effect.orElseSucceed(() => null))
    return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {}
  })

const listItems = (store: NewsStore): Handler => (userId, request) =>
  Effect.sync(() => {
    const news = newsOf(store, userId)
    const q = searchParams(request)
    const type = intParam(q.get("type"), 3)
    const id = intParam(q.get("id"), 0)
    const getRead = boolParam(q.get("getRead"), true)
    const batchSize = intParam(q.get("batchSize"), -1)
    const offset = intParam(q.get("offset"), 0)
    const oldestFirst = boolParam(q.get("oldestFirst"), false)
    let items = [...news.items.values()]
    switch (type) {
      case 0:
        items = items.filter((i) => i.feedId === id)
        break
      case 1: {
        const feeds = new Set([...news.feeds.values()].filter((f) => (f.folderId ?? 0) === id).map((f) => f.id))
        items = items.filter((i) => feeds.has(i.feedId))
        break
      }
      case 2:
        if (!getRead) return jsonResponse({ message: "Setting getRead on an already filtered list is not allowed!" })
        items = items.filter((i) => i.starred)
        break
      default:
        break
    }
    if (!getRead) items = items.filter((i) => i.unread)
    items.sort((a, b) => (oldestFirst ? a.id - b.id : b.id - a.id))
    if (offset !== 0) items = items.filter((i) => (oldestFirst ? i.id > offset : i.id < offset))
    if (batchSize >= 1) items = items.slice(0, batchSize)
    return jsonResponse({ items: items.map(itemJson) })
  })

const setState = (store: NewsStore, field: "unread" | "starred", value: boolean): Handler => (userId, _request, params, at) =>
  Effect.sync(() => {
    const raw = params["itemId"] ?? ""
    const item = /^\d{1,15}$/.test(raw) ? newsOf(store, userId).items.get(Number(raw)) : undefined
    if (item === undefined) return message(404, "Item not found!")
    item[field] = value
    item.lastModified = at * 1000
    return jsonResponse([])
  })

const setMany = (store: NewsStore, field: "unread" | "starred", value: boolean): Handler => (userId, request, _params, at) =>
  Effect.gen(function* () {
    const body = yield* readJson(request)
    const ids = Array.isArray(body["itemIds"]) ? body["itemIds"] : []
    const news = newsOf(store, userId)
    for (const id of ids) {
      const item = typeof id === "number" ? news.items.get(id) : undefined
      if (item === undefined) continue
      item[field] = value
      item.lastModified = at * 1000
    }
    return jsonResponse(null)
  })

const createFeed = (state: SimState, store: NewsStore): Handler => (userId, request, _params, at) =>
  Effect.gen(function* () {
    const body = yield* readJson(request)
    const url = typeof body["url"] === "string" ? body["url"] : ""
    const rawFolder = body["folderId"]
    const folderId = typeof rawFolder === "number" && rawFolder !== 0 ? rawFolder : null
    const news = newsOf(store, userId)
    const remote = store.remote.get(url)
    if (remote === undefined) return message(404, `Could not read feed at ${url}: no valid feed found`)
    if ([...news.feeds.values()].some((f) => f.url === url)) return message(409, "Feed with this URL exists")
    const feed = subscribe(state, news, url, remote.title, folderId, remote.items, at)
    const newest = Math.max(0, ...[...news.items.keys()])
    return jsonResponse({ feeds: [feedJson(news, feed)], ...(newest > 0 ? { newestItemId: newest } : {}) })
  })

const API = "/apps/news/api/v1-3"

const newsRoutes = (state: SimState, store: NewsStore): HttpRouter.HttpRouter => {
  const r = (handler: Handler) => newsRoute(state, handler)
  let router = HttpRouter.empty
  for (const prefix of ["/index.php", ""]) {
    const base = `${prefix}${API}`
    router = router.pipe(
      HttpRouter.get(
        `${base}/folders` as `/${string}`,
        r((userId) => Effect.sync(() => jsonResponse({ folders: [...newsOf(store, userId).folders.values()].map((f) => ({ id: f.id, name: f.name, opened: true, feeds: [] })) })))
      ),
      HttpRouter.get(
        `${base}/feeds` as `/${string}`,
        r((userId) =>
          Effect.sync(() => {
            const news = newsOf(store, userId)
            const newest = Math.max(0, ...[...news.items.keys()])
            return jsonResponse({
              starredCount: [...news.items.values()].filter((i) => i.starred).length,
              feeds: [...news.feeds.values()].map((f) => feedJson(news, f)),
              ...(newest > 0 ? { newestItemId: newest } : {})
            })
          })
        )
      ),
      HttpRouter.post(`${base}/feeds` as `/${string}`, r(createFeed(state, store))),
      HttpRouter.get(`${base}/items` as `/${string}`, r(listItems(store))),
      HttpRouter.post(`${base}/items/read/multiple` as `/${string}`, r(setMany(store, "unread", false))),
      HttpRouter.post(`${base}/items/unread/multiple` as `/${string}`, r(setMany(store, "unread", true))),
      HttpRouter.post(`${base}/items/star/multiple` as `/${string}`, r(setMany(store, "starred", true))),
      HttpRouter.post(`${base}/items/unstar/multiple` as `/${string}`, r(setMany(store, "starred", false))),
      HttpRouter.post(`${base}/items/:itemId/read` as `/${string}`, r(setState(store, "unread", false))),
      HttpRouter.post(`${base}/items/:itemId/unread` as `/${string}`, r(setState(store, "unread", true))),
      HttpRouter.post(`${base}/items/:itemId/star` as `/${string}`, r(setState(store, "starred", true))),
      HttpRouter.post(`${base}/items/:itemId/unstar` as `/${string}`, r(setState(store, "starred", false)))
    )
  }
  return router
}

const ROUTE_KEYS = ["news.folders", "news.feeds", "news.feeds.create", "news.items", "news.items.read", "news.items.star", "news.other"] as const

const routeKey = (method: string, path: string) => {
  if (!path.startsWith(`${API}/`)) return undefined
  const rest = path.slice(API.length + 1)
  if (rest === "folders" && method === "GET") return "news.folders"
  if (rest === "feeds") return method === "GET" ? "news.feeds" : method === "POST" ? "news.feeds.create" : "news.other"
  if (rest === "items" && method === "GET") return "news.items"
  if (/^items\/(\d+\/)?(read|unread)(\/multiple)?$/.test(rest)) return "news.items.read"
  if (/^items\/(\d+\/)?(star|unstar)(\/multiple)?$/.test(rest)) return "news.items.star"
  return "news.other"
}

// ---------------------------------------------------------------------------
// Hooks

export interface NewsItemInfo {
  readonly id: number
  readonly feedId: number
  readonly title: string
  readonly unread: boolean
  readonly starred: boolean
}

export interface NewsControl {
  readonly seedNewsFolder: (input: { readonly userId: string; readonly name: string }) => Effect.Effect<{ readonly id: number }, SimulatorHookError>
  /** Subscribe a user to a feed with items (as if added in the News app). */
  readonly seedNewsFeed: (input: SeedFeed) => Effect.Effect<{ readonly id: number; readonly itemIds: ReadonlyArray<number> }, SimulatorHookError>
  /** A feed on the web that adding by URL finds. */
  readonly publishRemoteFeed: (input: RemoteFeed) => Effect.Effect<void, SimulatorHookError>
  /** A user's items, newest first. */
  readonly listNewsItems: (userId: string) => Effect.Effect<ReadonlyArray<NewsItemInfo>, SimulatorHookError>
}

const makeControl = (state: SimState, store: NewsStore): NewsControl => ({
  seedNewsFolder: Effect.fn("Simulator.seedNewsFolder")(function* (input) {
    yield* knownUser(state, input.userId)
    const id = state.nextId++
    newsOf(store, input.userId).folders.set(id, { id, name: input.name })
    return { id }
  }),
  seedNewsFeed: Effect.fn("Simulator.seedNewsFeed")(function* (input: SeedFeed) {
    yield* knownUser(state, input.userId)
    const news = newsOf(store, input.userId)
    if (input.folderId !== undefined && input.folderId !== null && !news.folders.has(input.folderId)) {
      return yield* new SimulatorHookError({ reason: "InvalidRequest", message: `No News folder ${input.folderId}` })
    }
    const before = new Set(news.items.keys())
    const feed = subscribe(state, news, input.url, input.title ?? input.url, input.folderId ?? null, input.items ?? [], yield* now(state))
    return { id: feed.id, itemIds: [...news.items.keys()].filter((id) => !before.has(id)) }
  }),
  publishRemoteFeed: (input) => Effect.sync(() => void store.remote.set(input.url, input)),
  listNewsItems: Effect.fn("Simulator.listNewsItems")(function* (userId: string) {
    yield* knownUser(state, userId)
    return [...newsOf(store, userId).items.values()]
      .sort((a, b) => b.id - a.id)
      .map((i) => ({ id: i.id, feedId: i.feedId, title: i.title, unread: i.unread, starred: i.starred }))
  })
})

const ItemBody = Schema.Struct({
  title: Schema.String,
  url: Schema.optional(Schema.String),
  body: Schema.optional(Schema.String),
  author: Schema.optional(Schema.String),
  pubDate: Schema.optional(Schema.Number),
  unread: Schema.optional(Schema.Boolean),
  starred: Schema.optional(Schema.Boolean)
})
const FeedBody = Schema.Struct({
  userId: Schema.String,
  url: Schema.String,
  title: Schema.optional(Schema.String),
  folderId: Schema.optional(Schema.NullOr(Schema.Number)),
  items: Schema.optional(Schema.Array(ItemBody))
})
const RemoteBody = Schema.Struct({ url: Schema.String, title: Schema.String, items: Schema.Array(ItemBody) })
const FolderBody = Schema.Struct({ userId: Schema.String, name: Schema.String })

const hookRoutes = (control: NewsControl): HttpRouter.HttpRouter =>
  HttpRouter.empty.pipe(
    HttpRouter.post("/__sim/news/folders", hook(FolderBody, (input) => control.seedNewsFolder(input), 201)),
    HttpRouter.post("/__sim/news/feeds", hook(FeedBody, (input) => control.seedNewsFeed(input), 201)),
    HttpRouter.post("/__sim/news/remote-feeds", hook(RemoteBody, (input) => control.publishRemoteFeed(input), 201)),
    HttpRouter.get("/__sim/users/:userId/news-items", hook(Empty, (_, params) => control.listNewsItems(params["userId"] ?? "")))
  )

export const newsSimulator: SimulatorApp<NewsControl> = {
  nextcloudApp: { id: "news", name: "News" },
  routeKeys: ROUTE_KEYS,
  routeKey,
  hookEndpoints: [
    "POST   /__sim/news/folders                     {userId, name}",
    "POST   /__sim/news/feeds                       {userId, url, title?, folderId?, items?: [{title, url?, body?, author?, pubDate?, unread?, starred?}]}",
    "POST   /__sim/news/remote-feeds                {url, title, items} a feed that adding by URL finds",
    "GET    /__sim/users/{userId}/news-items        a user's News items, newest first"
  ],
  mount: (state) => {
    const store: NewsStore = { users: new Map(), remote: new Map() }
    const control = makeControl(state, store)
    return { routes: newsRoutes(state, store), hooks: hookRoutes(control), control }
  },
  remote: (call) => ({
    seedNewsFolder: (input) => call("POST", "/news/folders", input),
    seedNewsFeed: (input) => call("POST", "/news/feeds", input),
    publishRemoteFeed: (input) => call("POST", "/news/remote-feeds", input).then(() => undefined),
    listNewsItems: (userId) => call("GET", `/users/${encodeURIComponent(userId)}/news-items`)
  })
}
