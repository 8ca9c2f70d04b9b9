/**
 * Nextcloud News API v1-3 (`/index.php/apps/news/api/v1-3/`,
 * docs/nextcloud-protocol.md "News"), called with the user's app password as
 * Basic auth. JSON in and out; a refusal carries `{"message": …}`.
 *
 * Reads are retried on a refused connection or a 5xx. Marking items read or
 * starred is repeatable (it sets a state), so those are retried too; adding a
 * feed is not.
 */
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { Context, Effect, Layer, Schema } from "effect"
import { makeCaller } from "../../nextcloud/call.js"
import { type DataCallError, expectStatus } from "../../nextcloud/errors.js"
import { decodeJsonBody, underBase } from "../../nextcloud/http.js"
import { NextcloudConfig } from "../../nextcloud/NextcloudConfig.js"
import type { Credentials } from "../../nextcloud/Ocs.js"

const Int = Schema.Number.pipe(Schema.int())
const Text = Schema.optional(Schema.NullOr(Schema.String))

export const Folder = Schema.Struct({ id: Int, name: Schema.String })
export type Folder = typeof Folder.Type

export const Feed = Schema.Struct({
  id: Int,
  url: Schema.String,
  title: Text,
  faviconLink: Text,
  /** Unix seconds. */
  added: Schema.optional(Schema.NullOr(Schema.Number)),
  /** null (or 0 on old versions): the root. */
  folderId: Schema.optional(Schema.NullOr(Int)),
  unreadCount: Schema.optional(Schema.NullOr(Schema.Number)),
  link: Text,
  pinned: Schema.optional(Schema.NullOr(Schema.Boolean)),
  updateErrorCount: Schema.optional(Schema.NullOr(Schema.Number)),
  lastUpdateError: Text
})
export type Feed = typeof Feed.Type

export const Item = Schema.Struct({
  id: Int,
  guid: Text,
  url: Text,
  title: Text,
  author: Text,
  /** Unix seconds. */
  pubDate: Schema.optional(Schema.NullOr(Schema.Number)),
  body: Text,
  enclosureLink: Text,
  enclosureMime: Text,
  feedId: Int,
  unread: Schema.Boolean,
  starred: Schema.Boolean
})
export type Item = typeof Item.Type

const FoldersAnswer = Schema.Struct({ folders: Schema.Array(Folder) })
const FeedsAnswer = Schema.Struct({
  feeds: Schema.Array(Feed),
  starredCount: Schema.optional(Schema.Number),
  newestItemId: Schema.optional(Schema.Number)
})
const ItemsAnswer = Schema.Struct({ items: Schema.Array(Item) })

/** `type` of `GET /items`. */
export const ITEM_LIST_TYPE = { feed: 0, folder: 1, starred: 2, all: 3 } as const

export interface ItemQuery {
  readonly type: keyof typeof ITEM_LIST_TYPE
  /** The feed or folder id; 0 for starred and all. */
  readonly id: number
  /** false: only unread items. */
  readonly getRead: boolean
  readonly batchSize: number
  /** Only items with a smaller id (0: from the newest). */
  readonly offset: number
}

export interface NewsShape {
  readonly folders: (credentials: Credentials) => Effect.Effect<ReadonlyArray<Folder>, DataCallError>
  readonly feeds: (credentials: Credentials) => Effect.Effect<typeof FeedsAnswer.Type, DataCallError>
  readonly items: (credentials: Credentials, query: ItemQuery) => Effect.Effect<ReadonlyArray<Item>, DataCallError>
  /** One item: its own route (404 when unknown); several: the `multiple` route, which skips unknown ids. */
  readonly markRead: (credentials: Credentials, ids: ReadonlyArray<number>, read: boolean) => Effect.Effect<void, DataCallError>
  readonly star: (credentials: Credentials, ids: ReadonlyArray<number>, starred: boolean) => Effect.Effect<void, DataCallError>
  /** 409: already subscribed; 404: no feed could be read there. */
  readonly addFeed: (credentials: Credentials, url: string, folderId: number | null) => Effect.Effect<Feed, DataCallError>
}

export class News extends Context.Tag("nextcloud-mcp/News")<News, NewsShape>() {}

const API = "index.php/apps/news/api/v1-3"

export const NewsLive: Layer.Layer<News, never, HttpClient.HttpClient | NextcloudConfig> = Layer.effect(
  News,
  Effect.gen(function* () {
    const config = yield* NextcloudConfig
    const nc = makeCaller(yield* HttpClient.HttpClient, config)
    const url = (path: string) => underBase(config.host, `${API}/${path}`)

    const send = (operation: string, request: HttpClientRequest.HttpClientRequest, credentials: Credentials, idempotent: boolean) =>
      nc.json(operation, request, credentials, { idempotent }).pipe(Effect.flatMap(expectStatus(operation, [200])))

    const folders = Effect.fn("News.folders")(function* (credentials: Credentials) {
      const response = yield* send("News.folders", HttpClientRequest.get(url("folders")), credentials, true)
      return (yield* decodeJsonBody(FoldersAnswer, "News.folders")(response)).folders
    })

    const feeds = Effect.fn("News.feeds")(function* (credentials: Credentials) {
      const response = yield* send("News.feeds", HttpClientRequest.get(url("feeds")), credentials, true)
      return yield* decodeJsonBody(FeedsAnswer, "News.feeds")(response)
    })

    const items = Effect.fn("News.items")(function* (credentials: Credentials, query: ItemQuery) {
      const request = HttpClientRequest.get(url("items")).pipe(
        HttpClientRequest.setUrlParams({
          type: String(ITEM_LIST_TYPE[query.type]),
          id: String(query.id),
          getRead: String(query.getRead),
          batchSize: String(query.batchSize),
          offset: String(query.offset),
          oldestFirst: "false"
        })
      )
      const response = yield* send("News.items", request, credentials, true)
      return (yield* decodeJsonBody(ItemsAnswer, "News.items")(response)).items
    })

    const itemState = (operation: string, single: (id: number) => string, multiple: string) =>
      Effect.fn(operation)(function* (credentials: Credentials, ids: ReadonlyArray<number>) {
        const [only, ...rest] = ids
        if (only === undefined) return
        const request =
          rest.length === 0
            ? HttpClientRequest.post(url(single(only)))
            : HttpClientRequest.post(url(multiple)).pipe(HttpClientRequest.bodyUnsafeJson({ itemIds: ids }))
        yield* send(operation, request, credentials, true)
      })

    const read = itemState("News.markRead", (id) => `items/${id}/read`, "items/read/multiple")
    const unread = itemState("News.markUnread", (id) => `items/${id}/unread`, "items/unread/multiple")
    const starIt = itemState("News.star", (id) => `items/${id}/star`, "items/star/multiple")
    const unstar = itemState("News.unstar", (id) => `items/${id}/unstar`, "items/unstar/multiple")

    const addFeed = Effect.fn("News.addFeed")(function* (credentials: Credentials, feedUrl: string, folderId: number | null) {
      const operation = "News.addFeed"
      const request = HttpClientRequest.post(url("feeds")).pipe(HttpClientRequest.bodyUnsafeJson({ url: feedUrl, folderId }))
      const response = yield* send(operation, request, credentials, false)
      const answer = yield* decodeJsonBody(Schema.Struct({ feeds: Schema.NonEmptyArray(Feed) }), operation)(response)
      return answer.feeds[0]
    })

    return News.of({
      folders,
      feeds,
      items,
      markRead: (credentials, ids, isRead) => (isRead ? read(credentials, ids) : unread(credentials, ids)),
      star: (credentials, ids, starred) => (starred ? starIt(credentials, ids) : unstar(credentials, ids)),
      addFeed
    })
  })
)
