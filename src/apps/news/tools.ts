/**
 * News tools (Nextcloud News API v1-3): feeds and folders, items (unread only
 * by default, a page at a time), mark read or unread, star or unstar, add a
 * feed. Reads need `news.read`, writes `news.write`.
 */
import { Effect, Schema } from "effect"
import { Conflict, InvalidArguments, NotFound } from "../../domain/Errors.js"
import { underBase } from "../../nextcloud/http.js"
import { NextcloudConfig } from "../../nextcloud/NextcloudConfig.js"
import { credentialsOf } from "../../tools/account.js"
import { whileTrying } from "../../tools/nextcloudFailures.js"
import * as Tool from "../../tools/Tool.js"
import { type Feed, type Item, type ItemQuery, News } from "./Client.js"
import { batchSizeFor, decodeCursor, MAX_ITEM_ID, pageOf } from "./paging.js"

const DEFAULT_LIMIT = 50
/** An item's text in a list, without HTML, at most this long unless the whole body is asked for. */
const EXCERPT_CHARS = 300

const Id = Schema.Number.pipe(Schema.int(), Schema.between(1, MAX_ITEM_ID))
const ItemIds = Schema.Array(Id).pipe(Schema.minItems(1), Schema.maxItems(500)).annotations({
  description: "Item ids (from nc_news_list_items), 1–500"
})

const Limit = Schema.Number.pipe(Schema.int(), Schema.between(1, 500)).annotations({ description: "Per page, 1–500 (default 50)" })

const webUrl = (publicUrl: URL, fragment: string) => {
  const url = underBase(publicUrl, "index.php/apps/news/")
  url.hash = fragment
  return url.href
}

const FeedOutput = Schema.Struct({
  id: Schema.Number,
  title: Schema.String,
  feed_url: Schema.String,
  site_url: Schema.NullOr(Schema.String),
  folder_id: Schema.NullOr(Schema.Number),
  unread_count: Schema.Number,
  last_update_error: Schema.NullOr(Schema.String),
  url: Schema.String.annotations({ description: "The feed in the News web UI" })
})

const feedOutput = (publicUrl: URL, feed: Feed): typeof FeedOutput.Type => ({
  id: feed.id,
  title: feed.title ?? feed.url,
  feed_url: feed.url,
  site_url: feed.link ?? null,
  folder_id: feed.folderId === undefined || feed.folderId === 0 ? null : feed.folderId,
  unread_count: feed.unreadCount ?? 0,
  last_update_error: feed.lastUpdateError === undefined || feed.lastUpdateError === "" ? null : feed.lastUpdateError,
  url: webUrl(publicUrl, `/items/feeds/${feed.id}`)
})

const ItemOutput = Schema.Struct({
  id: Schema.Number,
  feed_id: Schema.Number,
  title: Schema.String,
  author: Schema.NullOr(Schema.String),
  published: Schema.NullOr(Schema.String.annotations({ description: "ISO 8601" })),
  unread: Schema.Boolean,
  starred: Schema.Boolean,
  link: Schema.NullOr(Schema.String.annotations({ description: "The article itself" })),
  url: Schema.String.annotations({ description: "Its feed in the News web UI" }),
  excerpt: Schema.optional(Schema.String),
  body: Schema.optional(Schema.String.annotations({ description: "HTML, with include_body" }))
})

const textOf = (html: string): string =>
  html
    .replace(/<(script|style)[\s\S]*?<\/\1>/gi, " ")
    .replace(/<[^>]*>/g, " ")
    .replace(/&nbsp;/g, " ")
    .replace(/&amp;/g, "&")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/\s+/g, " ")
    .trim()

const itemOutput = (publicUrl: URL, item: Item, withBody: boolean): typeof ItemOutput.Type => {
  const text = textOf(item.body ?? "")
  return {
    id: item.id,
    feed_id: item.feedId,
    title: item.title ?? "(untitled)",
    author: item.author ?? null,
    published: item.pubDate === undefined || item.pubDate === null ? null : new Date(item.pubDate * 1000).toISOString(),
    unread: item.unread,
    starred: item.starred,
    link: item.url ?? null,
    url: webUrl(publicUrl, `/items/feeds/${item.feedId}`),
    ...(withBody ? { body: item.body ?? "" } : { excerpt: text.length > EXCERPT_CHARS ? `${text.slice(0, EXCERPT_CHARS)}…` : text })
  }
}

// ---------------------------------------------------------------------------

export const ListFeedsInput = Schema.Struct({
  limit: Schema.optional(Limit),
  cursor: Schema.optional(Schema.String.pipe(Schema.pattern(/^\d{1,9}$/)).annotations({ description: "next_cursor of the previous page" }))
})

export const listFeeds = Tool.make({
  name: "nc_news_list_feeds",
  title: "List News Feeds",
  description: "Your News subscriptions (feeds with their unread counts and folder) and your folders, with the number of starred items.",
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  scopes: ["news.read"],
  input: ListFeedsInput,
  output: Tool.response(["ok", "error"], {
    feeds: Schema.optional(Schema.Array(FeedOutput)),
    folders: Schema.optional(Schema.Array(Schema.Struct({ id: Schema.Number, name: Schema.String }))),
    starred_count: Schema.optional(Schema.Number),
    total_feeds: Schema.optional(Schema.Number),
    next_cursor: Schema.optional(Schema.NullOr(Schema.String))
  }),
  handler: (input, { grant }) =>
    Effect.gen(function* () {
      const news = yield* News
      const { publicUrl } = yield* NextcloudConfig
      const credentials = credentialsOf(grant)
      const [folders, answer] = yield* Effect.all([news.folders(credentials), news.feeds(credentials)], { concurrency: 2 }).pipe(
        whileTrying("list your News feeds")
      )
      const offset = input.cursor === undefined ? 0 : Number(input.cursor)
      const limit = input.limit ?? DEFAULT_LIMIT
      const feeds = answer.feeds.slice(offset, offset + limit)
      const next = offset + limit < answer.feeds.length ? String(offset + limit) : null
      const unread = answer.feeds.reduce((sum, f) => sum + (f.unreadCount ?? 0), 0)
      return {
        status: "ok",
        message:
          `${answer.feeds.length} feed(s) in ${folders.length} folder(s), ${unread} unread item(s), ${answer.starredCount ?? 0} starred.` +
          (next === null ? "" : ` Showing ${feeds.length}; pass next_cursor as cursor for more.`),
        feeds: feeds.map((f) => feedOutput(publicUrl, f)),
        folders: folders.slice(0, 500).map((f) => ({ id: f.id, name: f.name })),
        starred_count: answer.starredCount ?? 0,
        total_feeds: answer.feeds.length,
        next_cursor: next
      } as const
    })
})

// ---------------------------------------------------------------------------

export const ListItemsInput = Schema.Struct({
  feed_id: Schema.optional(Id.annotations({ description: "Only this feed's items" })),
  folder_id: Schema.optional(Id.annotations({ description: "Only the items of this folder's feeds" })),
  starred: Schema.optional(Schema.Boolean.annotations({ description: "Only starred items (read or not)" })),
  include_read: Schema.optional(Schema.Boolean.annotations({ description: "Also items already read (default false: unread only)" })),
  include_body: Schema.optional(Schema.Boolean.annotations({ description: "Each item's full HTML body (default: a short text excerpt)" })),
  limit: Schema.optional(Limit),
  cursor: Schema.optional(Schema.String.pipe(Schema.maxLength(20)).annotations({ description: "next_cursor of the previous page" }))
})

export const listItems = Tool.make({
  name: "nc_news_list_items",
  title: "List News Items",
  description:
    "News items, newest first: unread ones unless include_read; all feeds, or one feed_id, folder_id, or the starred ones. " +
    "A page at a time (limit, next_cursor); excerpts unless include_body.",
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  scopes: ["news.read"],
  input: ListItemsInput,
  output: Tool.response(["ok", "error"], {
    items: Schema.optional(Schema.Array(ItemOutput)),
    count: Schema.optional(Schema.Number),
    next_cursor: Schema.optional(Schema.NullOr(Schema.String))
  }),
  handler: (input, { grant }) =>
    Effect.gen(function* () {
      const chosen = [input.feed_id !== undefined, input.folder_id !== undefined, input.starred === true].filter(Boolean).length
      if (chosen > 1) return yield* new InvalidArguments({ message: "Give at most one of feed_id, folder_id and starred." })
      const offset = input.cursor === undefined ? 0 : decodeCursor(input.cursor)
      if (offset === null) return yield* new InvalidArguments({ message: "cursor is not a next_cursor this tool handed out." })
      const news = yield* News
      const { publicUrl } = yield* NextcloudConfig
      const limit = input.limit ?? DEFAULT_LIMIT
      const includeRead = input.include_read ?? false
      // The starred list refuses getRead=false: it always holds read and unread items.
      const query: ItemQuery =
        input.feed_id !== undefined
          ? { type: "feed", id: input.feed_id, getRead: includeRead, batchSize: batchSizeFor(limit), offset }
          : input.folder_id !== undefined
            ? { type: "folder", id: input.folder_id, getRead: includeRead, batchSize: batchSizeFor(limit), offset }
            : input.starred === true
              ? { type: "starred", id: 0, getRead: true, batchSize: batchSizeFor(limit), offset }
              : { type: "all", id: 0, getRead: includeRead, batchSize: batchSizeFor(limit), offset }
      const answer = yield* news.items(credentialsOf(grant), query).pipe(whileTrying("list your News items"))
      const page = pageOf(answer, limit)
      const which = input.starred === true ? "starred" : includeRead ? "" : "unread"
      return {
        status: "ok",
        message:
          `${page.items.length} ${which} item(s)${input.feed_id !== undefined ? ` in feed ${input.feed_id}` : input.folder_id !== undefined ? ` in folder ${input.folder_id}` : ""}.`.replace("  ", " ") +
          (page.nextCursor === null ? "" : " More follow: pass next_cursor as cursor."),
        items: page.items.map((item) => itemOutput(publicUrl, item, input.include_body ?? false)),
        count: page.items.length,
        next_cursor: page.nextCursor
      } as const
    })
})

// ---------------------------------------------------------------------------

const itemNotFound = (ids: ReadonlyArray<number>) =>
  new NotFound({ message: `There is no News item ${ids.join(", ")} (nc_news_list_items shows yours).` })

export const MarkReadInput = Schema.Struct({
  item_ids: ItemIds,
  unread: Schema.optional(Schema.Boolean.annotations({ description: "true: mark them unread again (default false: read)" }))
})

export const markRead = Tool.make({
  name: "nc_news_mark_read",
  title: "Mark News Items Read",
  description: "Mark News items read (or unread with unread: true). With several ids, ids News does not know are skipped.",
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  scopes: ["news.write"],
  input: MarkReadInput,
  output: Tool.response(["updated", "error"], { item_ids: Schema.optional(Schema.Array(Schema.Number)) }),
  handler: (input, { grant }) =>
    Effect.gen(function* () {
      const news = yield* News
      const read = !(input.unread ?? false)
      const ids = [...new Set(input.item_ids)]
      yield* news.markRead(credentialsOf(grant), ids, read).pipe(
        Effect.catchTag("NextcloudNotFound", () => Effect.fail(itemNotFound(ids))),
        whileTrying(`mark News items ${read ? "read" : "unread"}`)
      )
      return { status: "updated", message: `Marked ${ids.length} item(s) ${read ? "read" : "unread"}.`, item_ids: ids } as const
    })
})

export const StarInput = Schema.Struct({
  item_ids: ItemIds,
  starred: Schema.optional(Schema.Boolean.annotations({ description: "false: unstar (default true: star)" }))
})

export const star = Tool.make({
  name: "nc_news_star",
  title: "Star News Items",
  description: "Star News items (or unstar them with starred: false). With several ids, ids News does not know are skipped.",
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  scopes: ["news.write"],
  input: StarInput,
  output: Tool.response(["updated", "error"], { item_ids: Schema.optional(Schema.Array(Schema.Number)) }),
  handler: (input, { grant }) =>
    Effect.gen(function* () {
      const news = yield* News
      const starred = input.starred ?? true
      const ids = [...new Set(input.item_ids)]
      yield* news.star(credentialsOf(grant), ids, starred).pipe(
        Effect.catchTag("NextcloudNotFound", () => Effect.fail(itemNotFound(ids))),
        whileTrying(`${starred ? "star" : "unstar"} News items`)
      )
      return { status: "updated", message: `${starred ? "Starred" : "Unstarred"} ${ids.length} item(s).`, item_ids: ids } as const
    })
})

// ---------------------------------------------------------------------------

export const AddFeedInput = Schema.Struct({
  url: Schema.String.pipe(
    Schema.maxLength(2048),
    Schema.pattern(/^https?:\/\/[^\s/?#]+[^\s]*$/i)
  ).annotations({ description: "The feed's (or the site's) http(s) address" }),
  folder_id: Schema.optional(Id.annotations({ description: "Put it in this folder (default: no folder)" }))
})

export const addFeed = Tool.make({
  name: "nc_news_add_feed",
  title: "Add News Feed",
  description: "Subscribe to a feed by its URL (News also finds the feed of a site's page), optionally into a folder.",
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  scopes: ["news.write"],
  input: AddFeedInput,
  output: Tool.response(["created", "error"], { feed: Schema.optional(FeedOutput) }),
  handler: (input, { grant }) =>
    Effect.gen(function* () {
      const news = yield* News
      const { publicUrl } = yield* NextcloudConfig
      const feed = yield* news.addFeed(credentialsOf(grant), input.url, input.folder_id ?? null).pipe(
        Effect.catchTags({
          NextcloudConflict: () => Effect.fail(new Conflict({ message: `You are already subscribed to ${input.url}.` })),
          NextcloudNotFound: () =>
            Effect.fail(new NotFound({ message: `News could not read a feed at ${input.url} (nor find one on that page).` }))
        }),
        whileTrying(`add the feed ${input.url}`)
      )
      const output = feedOutput(publicUrl, feed)
      return { status: "created", message: `Subscribed to "${output.title}" (feed ${output.id}).`, feed: output } as const
    })
})

export const newsTools = [listFeeds, listItems, markRead, star, addFeed] as const
