/**
 * Files tools over WebDAV: list (paged), search, read and write (text or
 * base64), mkdir, move, copy, delete. Reads need `files.read`, writes
 * `files.write`. Every path is relative to the caller's Nextcloud files and
 * is checked by `normalisePath` before anything is sent; a name that
 * `nc_files_list` returns works unchanged in every other tool.
 */
import { Effect, Either, Option, Schema } from "effect"
import {
  Conflict,
  FileTooLarge,
  InvalidArguments,
  Locked,
  NextcloudError,
  NotFound,
  NotTextFile,
  PermissionDenied
} from "../../domain/Errors.js"
import { underBase } from "../../nextcloud/http.js"
import { NextcloudConfig } from "../../nextcloud/NextcloudConfig.js"
import type { DavAccount } from "../../nextcloud/Ocs.js"
import { davAccountOf } from "../../tools/account.js"
import { whileTrying } from "../../tools/nextcloudFailures.js"
import * as Tool from "../../tools/Tool.js"
import { type DavEntry, type DavPartialFailure, WebDav } from "./Client.js"
import { displayPath, isRoot, isWithin, normalisePath, type PathSegments, parentOf } from "./paths.js"

/** Largest file `nc_files_read` returns, and largest content `nc_files_write` sends (text or binary). */
export const MAX_TEXT_BYTES = 1024 * 1024
/** `limit` of the list tools: default and maximum (docs/tool-contract.md §7). */
export const DEFAULT_LIMIT = 50
export const MAX_LIMIT = 500
/** The search fallback on servers without WebDAV SEARCH: folders read at most. */
export const SEARCH_WALK_FOLDERS = 200

const PathArgument = (description: string) => Schema.String.pipe(Schema.maxLength(4096)).annotations({ description })

const segmentsOf = (raw: string, field: string) =>
  Either.match(normalisePath(raw), {
    onLeft: (reason) => Effect.fail(new InvalidArguments({ message: `Invalid ${field} "${raw.slice(0, 200)}": ${reason}.` })),
    onRight: (segments) => Effect.succeed(segments)
  })

const notRoot = (segments: PathSegments, field: string, what: string) =>
  isRoot(segments)
    ? Effect.fail(new InvalidArguments({ message: `${field} must name ${what} inside your files, not the root folder.` }))
    : Effect.void

const formatBytes = (bytes: number): string =>
  bytes < 1024 ? `${bytes} bytes` : bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(1)} KiB` : `${(bytes / (1024 * 1024)).toFixed(1)} MiB`

/** A size and the limit it passes, in exact bytes when the rounded figures would read the same ("1.0 MiB; … up to 1.0 MiB"). */
const sizeAndLimit = (size: number, limit: number): readonly [string, string] =>
  formatBytes(size) === formatBytes(limit)
    ? [`${size.toLocaleString("en-US")} bytes`, `${limit.toLocaleString("en-US")} bytes (${formatBytes(limit)})`]
    : [formatBytes(size), formatBytes(limit)]
const Limit = Schema.optional(
  Schema.Number.pipe(Schema.int(), Schema.between(1, MAX_LIMIT)).annotations({
    description: `Most entries to return (default ${DEFAULT_LIMIT}, at most ${MAX_LIMIT}); more are paged with next_cursor`
  })
)
const Cursor = Schema.optional(
  Schema.String.pipe(Schema.maxLength(2048)).annotations({ description: "next_cursor of the previous page (same other arguments)" })
)

const Entry = Schema.Struct({
  name: Schema.String,
  path: Schema.String,
  type: Schema.Literal("file", "directory"),
  size: Schema.NullOr(Schema.Number).annotations({ description: "Bytes" }),
  modified: Schema.NullOr(Schema.String).annotations({ description: "ISO 8601" }),
  etag: Schema.NullOr(Schema.String).annotations({ description: "As the server sent it; pass it unchanged as if_match" }),
  content_type: Schema.NullOr(Schema.String),
  url: Schema.NullOr(Schema.String).annotations({ description: "The file or folder in Nextcloud's web interface" }),
  unreadable: Schema.optional(
    Schema.Boolean.annotations({ description: "true: the name is not valid UTF-8 on the server; it is shown with � and cannot be used in other tools" })
  )
})
type Entry = typeof Entry.Type

/**
 * The item in Nextcloud's web interface: a file by its id (`/index.php/f/<fileid>`,
 * which Nextcloud redirects to the Files app with the file open), a folder by
 * its path (`/index.php/apps/files/?dir=<path>`). Without a file id (not
 * Nextcloud) a file's folder is shown.
 */
const webUrl = (publicBase: URL, entry: DavEntry): string | null => {
  if (entry.unreadable) return null
  if (!entry.isCollection && entry.fileId !== null && /^\d+$/.test(entry.fileId)) {
    return underBase(publicBase, `index.php/f/${entry.fileId}`).href
  }
  const dir = entry.isCollection ? entry.path : parentOf(entry.path)
  const url = underBase(publicBase, "index.php/apps/files/")
  url.searchParams.set("dir", displayPath(dir))
  if (!entry.isCollection) url.searchParams.set("scrollto", entry.name)
  return url.href
}

/** Where users' browsers reach Nextcloud: NEXTCLOUD_PUBLIC_URL's origin, with NEXTCLOUD_HOST's web root. */
const publicBase = Effect.map(NextcloudConfig, (config) => new URL(config.host.pathname, config.publicUrl.origin))

const entryOf = (base: URL) => (entry: DavEntry): Entry => ({
  name: entry.name,
  path: displayPath(entry.path),
  type: entry.isCollection ? "directory" : "file",
  size: entry.size,
  modified: entry.modified === null ? null : new Date(entry.modified).toISOString(),
  etag: entry.etag,
  content_type: entry.isCollection ? null : entry.contentType,
  url: webUrl(base, entry),
  ...(entry.unreadable ? { unreadable: true } : {})
})

const notFound = (segments: PathSegments) =>
  new NotFound({ message: `Nothing exists at ${displayPath(segments)} in your files.` })

const stat = (account: DavAccount, segments: PathSegments) =>
  Effect.flatMap(WebDav, (dav) => dav.list(account, segments, 0)).pipe(
    Effect.map((entries) => entries[0]),
    Effect.flatMap((entry) => (entry === undefined ? Effect.fail(notFound(segments)) : Effect.succeed(entry)))
  )

/**
 * Why something could not be created at `target` when the server says its
 * place is wrong (409, or Apache's 400/500): the first folder on the way that
 * is missing (`NotFound`) or is a file (`Conflict`). `None` when the way is
 * clear (or could not be checked).
 */
const explainParent = (account: DavAccount, target: PathSegments) =>
  Effect.gen(function* () {
    for (let i = 1; i < target.length; i++) {
      const folder = target.slice(0, i)
      const entry = yield* stat(account, folder).pipe(Effect.option)
      if (Option.isNone(entry)) {
        return Option.some<NotFound | Conflict>(
          new NotFound({
            message: `The folder ${displayPath(folder)} does not exist, so nothing was created at ${displayPath(target)}; create it first with nc_files_mkdir (parents: true creates every missing folder).`
          })
        )
      }
      if (!entry.value.isCollection) {
        return Option.some<NotFound | Conflict>(
          new Conflict({ message: `${displayPath(folder)} is a file, not a folder, so ${displayPath(target)} cannot be created inside it.` })
        )
      }
    }
    return Option.none<NotFound | Conflict>()
  })

/** A 409, or the 400 / 500 some servers give instead, for a request that creates something at `target`. */
const misplaced = (error: { readonly _tag: string; readonly status?: number }) =>
  error._tag === "NextcloudConflict" || (error._tag === "NextcloudProtocolError" && (error.status === 400 || error.status === 500))

const orExplained = <E>(
  account: DavAccount,
  target: PathSegments,
  error: E,
  otherwise?: () => NotFound | Conflict
): Effect.Effect<never, E | NotFound | Conflict, WebDav> =>
  Effect.flatMap(explainParent(account, target), (explained): Effect.Effect<never, E | NotFound | Conflict> =>
    Option.isSome(explained)
      ? Effect.fail(explained.value)
      : otherwise !== undefined
        ? Effect.fail(otherwise())
        : Effect.fail(error)
  )

/** What a partly failed DELETE / MOVE / COPY of a folder did, for a person. */
const partialFailure = (error: DavPartialFailure, what: string) => {
  const shown = error.failures.slice(0, 5).map((f) => `${displayPath(f.path)} (${f.status ?? "failed"})`).join(", ")
  const more = error.failures.length > 5 ? ` and ${error.failures.length - 5} more` : ""
  const lockedOnes = error.failures.some((f) => f.status === 423 || f.status === 424)
  const done = error.status === 207 ? " The rest was done: part of it may already be gone." : " Nothing was changed."
  const message = `${what} did not complete: ${shown}${more} ${error.failures.length === 1 ? "was" : "were"} refused.${done}`
  if (lockedOnes) return new Locked({ message: `${message} A lock held by someone else (an open editor, a sync client) is in the way; try again later.` })
  if (error.failures.some((f) => f.status === 403)) return new PermissionDenied({ message })
  return new NextcloudError({ message })
}

// ---------------------------------------------------------------------------
// Ordering, patterns, cursors

const collator = new Intl.Collator("en", { sensitivity: "base", numeric: true })

/** Folders first, then by name (case-insensitive, numbers by value), ties by code points. */
export const compareEntries = (a: { isCollection: boolean; name: string }, b: { isCollection: boolean; name: string }): number =>
  a.isCollection !== b.isCollection
    ? a.isCollection
      ? -1
      : 1
    : collator.compare(a.name, b.name) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)

/** A glob on a name: `*` any run, `?` one character, `[abc]` / `[a-z]` / `[!abc]` a class; case-insensitive. */
export const globToRegExp = (glob: string): RegExp => {
  let out = ""
  const chars = [...glob]
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i] as string
    if (c === "*") out += ".*"
    else if (c === "?") out += "."
    else if (c === "[") {
      const end = chars.indexOf("]", i + 2)
      if (end < 0) out += "\\["
      else {
        let body = chars.slice(i + 1, end).join("")
        const negated = body.startsWith("!") || body.startsWith("^")
        if (negated) body = body.slice(1)
        out += `[${negated ? "^" : ""}${body.replace(/[\\\]^]/g, "\\$&")}]`
        i = end
      }
    } else out += c.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&")
  }
  return new RegExp(`^${out}$`, "isu")
}

const encodeCursor = (value: unknown): string => Buffer.from(JSON.stringify(value), "utf8").toString("base64url")

const decodeCursor = <A>(cursor: string, schema: Schema.Schema<A, any>) =>
  Effect.try(() => JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as unknown).pipe(
    Effect.flatMap(Schema.decodeUnknown(schema)),
    Effect.mapError(
      () => new InvalidArguments({ message: "The cursor is not one this tool handed out; start again without cursor." })
    )
  )

const ListCursor = Schema.Struct({
  p: Schema.String,
  g: Schema.NullOr(Schema.String),
  k: Schema.Number,
  d: Schema.Boolean,
  n: Schema.Array(Schema.String)
})

/** Deepest `depth` of nc_files_list, and the folders one call reads at most. */
export const MAX_LIST_DEPTH = 3
export const LIST_WALK_FOLDERS = 100

interface Ranked {
  /** Segments below the listed folder. */
  readonly rel: ReadonlyArray<string>
  readonly isCollection: boolean
}

/** Tree order: at each level folders first, then by name; a folder right before what is inside it. */
export const compareTree = (a: Ranked, b: Ranked): number => {
  const shared = Math.min(a.rel.length, b.rel.length)
  for (let i = 0; i < shared; i++) {
    if (a.rel[i] === b.rel[i]) continue
    return compareEntries(
      { isCollection: i < a.rel.length - 1 || a.isCollection, name: a.rel[i] as string },
      { isCollection: i < b.rel.length - 1 || b.isCollection, name: b.rel[i] as string }
    )
  }
  return a.rel.length - b.rel.length
}

// ---------------------------------------------------------------------------

export const ListFilesInput = Schema.Struct({
  path: Schema.optional(PathArgument("Folder to list, relative to your files (default: the root, \"/\")")),
  pattern: Schema.optional(
    Schema.String.pipe(Schema.minLength(1), Schema.maxLength(255)).annotations({
      description: "Only names matching this glob (* any text, ? one character, [abc] one of; case-insensitive), e.g. *.pdf"
    })
  ),
  depth: Schema.optional(
    Schema.Number.pipe(Schema.int(), Schema.between(1, MAX_LIST_DEPTH)).annotations({
      description: `Levels to list: 1 (default) the folder's own entries, up to ${MAX_LIST_DEPTH} to include subfolders' (at most ${LIST_WALK_FOLDERS} folders read)`
    })
  ),
  limit: Limit,
  cursor: Cursor
})

export const ListFilesOutput = Tool.response(["ok", "error"], {
  path: Schema.optional(Schema.String),
  entries: Schema.optional(Schema.Array(Entry)),
  count: Schema.optional(Schema.Number.annotations({ description: "Entries in this page" })),
  total: Schema.optional(Schema.Number.annotations({ description: "Entries in the folder that match (all pages)" })),
  next_cursor: Schema.optional(Schema.String.annotations({ description: "Pass as cursor (with the same path and pattern) for the next page" })),
  complete: Schema.optional(
    Schema.Boolean.annotations({ description: `false: with depth > 1, more than ${LIST_WALK_FOLDERS} folders; the deepest were not read` })
  ),
  url: Schema.optional(Schema.NullOr(Schema.String))
})

export const listFiles = Tool.make({
  name: "nc_files_list",
  title: "List Files",
  description:
    `List a folder of your Nextcloud files (one level, or up to ${MAX_LIST_DEPTH} with depth): name, type, size, modified, etag, url. Folders first, then by name. ` +
    `At most limit entries (default ${DEFAULT_LIMIT}, max ${MAX_LIMIT}); next_cursor pages on. pattern filters names with a glob (*.pdf).`,
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  scopes: ["files.read"],
  input: ListFilesInput,
  output: ListFilesOutput,
  handler: (input, { grant }) =>
    Effect.gen(function* () {
      const segments = yield* segmentsOf(input.path ?? "/", "path")
      const where = displayPath(segments)
      const depth = input.depth ?? 1
      const after = input.cursor === undefined ? null : yield* decodeCursor(input.cursor, ListCursor)
      if (after !== null && (after.p !== where || after.g !== (input.pattern ?? null) || after.k !== depth)) {
        return yield* new InvalidArguments({
          message: "The cursor belongs to another path, pattern or depth; pass the same arguments as the first page."
        })
      }
      const account = yield* davAccountOf(grant)
      const dav = yield* WebDav
      const base = yield* publicBase
      const action = `list ${where}`
      const entries = yield* dav.list(account, segments, 1).pipe(
        Effect.catchTag("NextcloudNotFound", () => Effect.fail(notFound(segments))),
        whileTrying(action)
      )
      const [self, ...children] = entries
      if (self !== undefined && !self.isCollection) {
        return {
          status: "ok",
          message: `${where} is a file (${formatBytes(self.size ?? 0)}).`,
          path: where,
          entries: [entryOf(base)(self)],
          count: 1,
          total: 1,
          url: webUrl(base, self)
        } as const
      }
      // Deeper levels: one PROPFIND (depth 1) per folder, breadth first, within the folder budget.
      const all = [...children]
      let frontier = children.filter((e) => e.isCollection && !e.unreadable)
      let read = 1
      let complete = true
      for (let level = 2; level <= depth && frontier.length > 0; level++) {
        const next: Array<DavEntry> = []
        for (const folder of frontier) {
          if (read >= LIST_WALK_FOLDERS) {
            complete = false
            break
          }
          read++
          const [, ...inside] = yield* dav.list(account, folder.path, 1).pipe(
            // Gone meanwhile: nothing to list there.
            Effect.catchTag("NextcloudNotFound", () => Effect.succeed([] as ReadonlyArray<DavEntry>)),
            whileTrying(action)
          )
          all.push(...inside)
          next.push(...inside.filter((e) => e.isCollection && !e.unreadable))
        }
        frontier = next
      }
      const glob = input.pattern === undefined ? null : globToRegExp(input.pattern)
      const ranked = (e: DavEntry): Ranked => ({ rel: e.path.slice(segments.length), isCollection: e.isCollection })
      const matching = all.filter((e) => glob === null || glob.test(e.name)).sort((a, b) => compareTree(ranked(a), ranked(b)))
      const start = after === null ? 0 : matching.findIndex((e) => compareTree(ranked(e), { rel: after.n, isCollection: after.d }) > 0)
      const from = start < 0 ? matching.length : start
      const limit = input.limit ?? DEFAULT_LIMIT
      const page = matching.slice(from, from + limit)
      const last = page[page.length - 1]
      const more = from + limit < matching.length && last !== undefined
      const unreadable = page.filter((e) => e.unreadable).length
      return {
        status: "ok",
        message:
          `${matching.length} item(s)${glob === null ? "" : ` matching ${input.pattern}`} in ${where}${depth > 1 ? ` (${depth} levels)` : ""}` +
          (page.length < matching.length ? `; items ${from + 1}–${from + page.length} here${more ? ", pass next_cursor for more" : ""}` : "") +
          (unreadable > 0 ? `; ${unreadable} name(s) are not valid UTF-8 and cannot be opened by name (marked unreadable)` : "") +
          (complete ? "" : `; only ${LIST_WALK_FOLDERS} folders were read, so the deepest levels are incomplete`) +
          ".",
        path: where,
        entries: page.map(entryOf(base)),
        count: page.length,
        total: matching.length,
        ...(more
          ? { next_cursor: encodeCursor({ p: where, g: input.pattern ?? null, k: depth, d: last.isCollection, n: ranked(last).rel }) }
          : {}),
        ...(depth > 1 ? { complete } : {}),
        url: self === undefined ? null : webUrl(base, self)
      } as const
    })
})

// ---------------------------------------------------------------------------

const SearchCursor = Schema.Struct({ q: Schema.NullOr(Schema.String), m: Schema.NullOr(Schema.String), p: Schema.String, o: Schema.Number })

export const SearchFilesInput = Schema.Struct({
  query: Schema.optional(
    Schema.String.pipe(Schema.minLength(1), Schema.maxLength(255)).annotations({
      description: "Text the name contains (case-insensitive); * and ? work as in a glob"
    })
  ),
  mime_type: Schema.optional(
    Schema.String.pipe(Schema.minLength(1), Schema.maxLength(255)).annotations({
      description: "MIME type, exact (application/pdf) or a family (image/ or image/*)"
    })
  ),
  path: Schema.optional(PathArgument("Folder to search in, with everything below it (default: all your files)")),
  limit: Limit,
  cursor: Cursor
})

export const SearchFilesOutput = Tool.response(["ok", "error"], {
  results: Schema.optional(Schema.Array(Entry)),
  count: Schema.optional(Schema.Number),
  next_cursor: Schema.optional(Schema.String),
  complete: Schema.optional(
    Schema.Boolean.annotations({
      description: `false: the server has no search, and the folder walk stopped after ${SEARCH_WALK_FOLDERS} folders`
    })
  )
})

/** `*`/`?` of a glob become SQL LIKE's `%`/`_`; the rest is matched as text. */
const likeOf = (text: string): string => (/[*?]/.test(text) ? text.replace(/\*/g, "%").replace(/\?/g, "_") : `%${text}%`)

const mimeLikeOf = (mime: string): string => {
  const m = mime.trim().toLowerCase()
  return m.endsWith("/*") ? `${m.slice(0, -1)}%` : m.endsWith("/") ? `${m}%` : m
}

/** The same test, made here: the server's LIKE also treats `%` and `_` in the text as wildcards. */
const matcherOf = (query: string | undefined, mime: string | undefined) => {
  const name = query === undefined ? null : globToRegExp(/[*?]/.test(query) ? query : `*${query.replace(/[[\]]/g, "?")}*`)
  const like = mime === undefined ? null : mimeLikeOf(mime)
  return (e: DavEntry) =>
    (name === null || name.test(e.name)) &&
    (like === null ||
      (e.contentType !== null &&
        (like.endsWith("%") ? e.contentType.toLowerCase().startsWith(like.slice(0, -1)) : e.contentType.toLowerCase().split(";")[0]?.trim() === like)))
}

export const searchFiles = Tool.make({
  name: "nc_files_search",
  title: "Search Files",
  description:
    "Find files and folders by name (query) and/or MIME type (mime_type, e.g. image/ or application/pdf) below a folder, with Nextcloud's WebDAV search. " +
    `At most limit results (default ${DEFAULT_LIMIT}, max ${MAX_LIMIT}); next_cursor pages on.`,
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  scopes: ["files.read"],
  input: SearchFilesInput,
  output: SearchFilesOutput,
  handler: (input, { grant }) =>
    Effect.gen(function* () {
      if (input.query === undefined && input.mime_type === undefined) {
        return yield* new InvalidArguments({ message: "Give query (text in the name), mime_type, or both." })
      }
      const scope = yield* segmentsOf(input.path ?? "/", "path")
      const where = displayPath(scope)
      const key = { q: input.query ?? null, m: input.mime_type ?? null, p: where }
      const cursor = input.cursor === undefined ? null : yield* decodeCursor(input.cursor, SearchCursor)
      if (cursor !== null && (cursor.q !== key.q || cursor.m !== key.m || cursor.p !== key.p)) {
        return yield* new InvalidArguments({ message: "The cursor belongs to another search; pass the same query, mime_type and path." })
      }
      const offset = cursor?.o ?? 0
      const limit = input.limit ?? DEFAULT_LIMIT
      const account = yield* davAccountOf(grant)
      const dav = yield* WebDav
      const base = yield* publicBase
      const matches = matcherOf(input.query, input.mime_type)
      const action = `search your files below ${where}`
      const found = yield* dav
        .search(account, {
          scope,
          ...(input.query !== undefined ? { nameLike: likeOf(input.query) } : {}),
          ...(input.mime_type !== undefined ? { mimeLike: mimeLikeOf(input.mime_type) } : {}),
          limit: limit + 1,
          offset
        })
        .pipe(
          // The extra one only says whether more remain; it belongs to the next page.
          Effect.map((entries) => ({ entries: entries.slice(0, limit).filter(matches), more: entries.length > limit, complete: true })),
          // No SEARCH on this server: walk the folders, breadth first, within a budget.
          Effect.catchTag("DavSearchUnsupported", () =>
            Effect.gen(function* () {
              const hits: Array<DavEntry> = []
              const queue: Array<PathSegments> = [scope]
              let folders = 0
              while (queue.length > 0 && hits.length <= offset + limit) {
                if (folders >= SEARCH_WALK_FOLDERS) break
                const folder = queue.shift() as PathSegments
                folders++
                const [, ...children] = yield* dav.list(account, folder, 1)
                children.sort(compareEntries)
                for (const child of children) {
                  if (matches(child)) hits.push(child)
                  if (child.isCollection && !child.unreadable) queue.push(child.path)
                }
              }
              return {
                entries: hits.slice(offset, offset + limit + 1),
                more: hits.length > offset + limit,
                complete: queue.length === 0 || hits.length > offset + limit
              }
            })
          ),
          Effect.catchTag("NextcloudNotFound", () => Effect.fail(notFound(scope))),
          whileTrying(action)
        )
      const page = found.entries.slice(0, limit)
      return {
        status: "ok",
        message:
          `${page.length} result(s) below ${where}${found.more ? "; pass next_cursor for more" : ""}.` +
          (found.complete ? "" : ` This server has no search, so only the first ${SEARCH_WALK_FOLDERS} folders were looked through.`),
        results: page.map(entryOf(base)),
        count: page.length,
        ...(found.more ? { next_cursor: encodeCursor({ ...key, o: offset + limit }) } : {}),
        complete: found.complete
      } as const
    })
})

// ---------------------------------------------------------------------------

export const ReadFileInput = Schema.Struct({
  path: PathArgument("File to read, relative to your files (e.g. Documents/todo.md)"),
  encoding: Schema.optional(
    Schema.Literal("auto", "text", "base64").annotations({
      description: "auto (default): UTF-8 text as content, anything else as content_base64; text: only text; base64: always content_base64"
    })
  )
})

export const ReadFileOutput = Tool.response(["ok", "error"], {
  path: Schema.optional(Schema.String),
  content: Schema.optional(Schema.String.annotations({ description: "The text (UTF-8; a byte order mark is kept as U+FEFF)" })),
  content_base64: Schema.optional(Schema.String.annotations({ description: "The bytes, base64, for files that are not UTF-8 text" })),
  encoding: Schema.optional(Schema.Literal("utf-8", "base64")),
  size: Schema.optional(Schema.Number),
  etag: Schema.optional(Schema.NullOr(Schema.String)),
  content_type: Schema.optional(Schema.NullOr(Schema.String)),
  modified: Schema.optional(Schema.NullOr(Schema.String)),
  url: Schema.optional(Schema.NullOr(Schema.String))
})

const tooLarge = (segments: PathSegments, size: number | null) =>
  new FileTooLarge({
    message: `${displayPath(segments)} is ${size === null ? `larger than ${formatBytes(MAX_TEXT_BYTES)}` : sizeAndLimit(size, MAX_TEXT_BYTES)[0]}; nc_files_read returns files up to ${size === null ? formatBytes(MAX_TEXT_BYTES) : sizeAndLimit(size, MAX_TEXT_BYTES)[1]}. Open it in Nextcloud instead.`
  })

/** UTF-8 text, BOM kept (it is part of the file; writing the text back restores it); null when the bytes are not text. */
const textOf = (bytes: Uint8Array): string | null => {
  if (bytes.includes(0)) return null
  return Either.getOrNull(Either.try(() => new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes)))
}

export const readFile = Tool.make({
  name: "nc_files_read",
  title: "Read File",
  description: `Read a file from your Nextcloud files (up to ${formatBytes(MAX_TEXT_BYTES)}): UTF-8 text as content, other files (PDF, images) as content_base64. Returns the etag for nc_files_write's if_match.`,
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  scopes: ["files.read"],
  input: ReadFileInput,
  output: ReadFileOutput,
  handler: (input, { grant }) =>
    Effect.gen(function* () {
      const segments = yield* segmentsOf(input.path, "path")
      yield* notRoot(segments, "path", "a file")
      const account = yield* davAccountOf(grant)
      const action = `read ${displayPath(segments)}`
      const info = yield* stat(account, segments).pipe(
        Effect.catchTag("NextcloudNotFound", () => Effect.fail(notFound(segments))),
        whileTrying(action)
      )
      if (info.isCollection) {
        return yield* new InvalidArguments({ message: `${displayPath(segments)} is a folder; use nc_files_list to see what is in it.` })
      }
      if (info.size !== null && info.size > MAX_TEXT_BYTES) return yield* tooLarge(segments, info.size)
      const dav = yield* WebDav
      const file = yield* dav.read(account, segments, MAX_TEXT_BYTES).pipe(
        Effect.catchTags({
          NextcloudNotFound: () => Effect.fail(notFound(segments)),
          NextcloudBodyTooLarge: (e) => Effect.fail(tooLarge(segments, e.size))
        }),
        whileTrying(action)
      )
      const mode = input.encoding ?? "auto"
      const text = mode === "base64" ? null : textOf(file.bytes)
      if (text === null && mode === "text") {
        return yield* new NotTextFile({
          message: `${displayPath(segments)} is not a UTF-8 text file (it looks binary); read it with encoding "base64" or "auto".`
        })
      }
      const base = yield* publicBase
      return {
        status: "ok",
        message: `Read ${displayPath(segments)} (${formatBytes(file.bytes.byteLength)}${text === null ? ", base64" : ""}).`,
        path: displayPath(segments),
        ...(text === null
          ? { content_base64: Buffer.from(file.bytes).toString("base64"), encoding: "base64" as const }
          : { content: text, encoding: "utf-8" as const }),
        size: file.bytes.byteLength,
        etag: file.etag ?? info.etag,
        content_type: file.contentType ?? info.contentType,
        modified: info.modified === null ? null : new Date(info.modified).toISOString(),
        url: webUrl(base, info)
      } as const
    })
})

// ---------------------------------------------------------------------------

const IfMatch = Schema.optional(
  Schema.String.pipe(Schema.minLength(1), Schema.maxLength(200)).annotations({
    description: 'Only if the file still has this etag (from nc_files_read or nc_files_list), as given ("abc", W/"abc") or bare'
  })
)

export const WriteFileInput = Schema.Struct({
  path: PathArgument("File to create or overwrite, relative to your files; its folder must exist"),
  content: Schema.optional(
    Schema.String.annotations({ description: `The complete new text (UTF-8, up to ${formatBytes(MAX_TEXT_BYTES)})` })
  ),
  content_base64: Schema.optional(
    Schema.String.annotations({ description: `The complete new content as base64, for binary files (up to ${formatBytes(MAX_TEXT_BYTES)} decoded)` })
  ),
  if_match: IfMatch,
  overwrite: Schema.optional(
    Schema.Boolean.annotations({ description: "false: only create, never replace an existing file (default true)" })
  )
})

export const WriteFileOutput = Tool.response(["created", "updated", "error"], {
  path: Schema.optional(Schema.String),
  size: Schema.optional(Schema.Number),
  etag: Schema.optional(Schema.NullOr(Schema.String))
})

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

export const writeFile = Tool.make({
  name: "nc_files_write",
  title: "Write File",
  description:
    "Create or overwrite a file in your Nextcloud files: text in content, or binary in content_base64. Pass if_match (the etag you read) to refuse overwriting someone else's newer change, " +
    "or overwrite: false to only create.",
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
  scopes: ["files.write"],
  input: WriteFileInput,
  output: WriteFileOutput,
  handler: (input, { grant }) =>
    Effect.gen(function* () {
      const segments = yield* segmentsOf(input.path, "path")
      yield* notRoot(segments, "path", "a file")
      if ((input.content === undefined) === (input.content_base64 === undefined)) {
        return yield* new InvalidArguments({ message: "Give exactly one of content (text) or content_base64 (binary)." })
      }
      let body: string | Uint8Array
      if (input.content_base64 !== undefined) {
        const compact = input.content_base64.replace(/\s+/g, "")
        if (!BASE64.test(compact)) return yield* new InvalidArguments({ message: "content_base64 is not valid base64." })
        if ((compact.length / 4) * 3 > MAX_TEXT_BYTES + 2) {
          return yield* new InvalidArguments({ message: `The content is larger than ${formatBytes(MAX_TEXT_BYTES)}; nc_files_write accepts up to that.` })
        }
        body = new Uint8Array(Buffer.from(compact, "base64"))
      } else {
        body = input.content ?? ""
      }
      const size = typeof body === "string" ? Buffer.byteLength(body, "utf8") : body.byteLength
      if (size > MAX_TEXT_BYTES) {
        return yield* new InvalidArguments({
          message: `The content is ${sizeAndLimit(size, MAX_TEXT_BYTES)[0]}; nc_files_write accepts up to ${sizeAndLimit(size, MAX_TEXT_BYTES)[1]}.`
        })
      }
      if (input.if_match !== undefined && input.overwrite === false) {
        return yield* new InvalidArguments({ message: "Give either if_match (overwrite that version) or overwrite: false (only create), not both." })
      }
      const account = yield* davAccountOf(grant)
      const dav = yield* WebDav
      const where = displayPath(segments)
      const result = yield* dav
        .write(account, segments, body, {
          contentType: typeof body === "string" ? "text/plain; charset=utf-8" : "application/octet-stream",
          ...(input.if_match !== undefined ? { ifMatch: input.if_match } : {}),
          ...(input.overwrite === false ? { createOnly: true } : {})
        })
        .pipe(
          Effect.catchIf(misplaced, (error) =>
            orExplained(account, segments, error, () => new Conflict({ message: `${where} is a folder; it cannot be overwritten with a file.` }))
          ),
          Effect.catchTags({
            NextcloudPreconditionFailed: () =>
              Effect.fail(
                new Conflict({
                  message:
                    input.if_match !== undefined
                      ? `${where} was changed (or removed) since you read it (etag ${input.if_match} is out of date), so it was not overwritten. Read it again and re-apply your change.`
                      : `${where} already exists, so it was not replaced (overwrite: false).`
                })
              ),
            NextcloudNotAllowed: () => Effect.fail(new Conflict({ message: `${where} is a folder; it cannot be overwritten with a file.` })),
            NextcloudNotFound: () => orExplained(account, segments, notFound(segments)),
            NextcloudForbidden: () => Effect.fail(new PermissionDenied({ message: `You may not write ${where} (read-only share or folder).` })),
            NextcloudLocked: () => Effect.fail(new Locked({ message: `${where} is locked (open in an editor or being synced), so it was not written; try again later.` }))
          }),
          whileTrying(`write ${where}`)
        )
      return {
        status: result.created ? "created" : "updated",
        message: `${result.created ? "Created" : "Overwrote"} ${where} (${formatBytes(size)}).`,
        path: where,
        size,
        etag: result.etag
      } as const
    })
})

// ---------------------------------------------------------------------------

export const MkdirInput = Schema.Struct({
  path: PathArgument("Folder to create, relative to your files"),
  parents: Schema.optional(Schema.Boolean.annotations({ description: "Also create missing parent folders (default false)" }))
})

export const MkdirOutput = Tool.response(["created", "exists", "error"], { path: Schema.optional(Schema.String) })

export const mkdir = Tool.make({
  name: "nc_files_mkdir",
  title: "Create Folder",
  description: "Create a folder in your Nextcloud files (with parents: true, also the missing folders above it). A folder that already exists is reported as exists.",
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  scopes: ["files.write"],
  input: MkdirInput,
  output: MkdirOutput,
  handler: (input, { grant }) =>
    Effect.gen(function* () {
      const segments = yield* segmentsOf(input.path, "path")
      const where = displayPath(segments)
      if (isRoot(segments)) return { status: "exists", message: "The root folder always exists.", path: where } as const
      const account = yield* davAccountOf(grant)
      const dav = yield* WebDav
      /** Create one folder: true if created, false if a folder was already there. */
      const createOne = (target: PathSegments) =>
        dav.mkdir(account, target).pipe(
          Effect.as(true),
          Effect.catchTag("NextcloudNotAllowed", () =>
            stat(account, target).pipe(
              Effect.flatMap((entry) =>
                entry.isCollection
                  ? Effect.succeed(false)
                  : Effect.fail(new Conflict({ message: `${displayPath(target)} exists and is a file, not a folder.` }))
              )
            )
          ),
          Effect.catchIf(misplaced, (error) => orExplained(account, target, error)),
          Effect.catchTags({
            NextcloudLocked: () => Effect.fail(new Locked({ message: `${displayPath(parentOf(target))} is locked, so ${displayPath(target)} was not created; try again later.` }))
          }),
          whileTrying(`create the folder ${displayPath(target)}`)
        )
      const targets = input.parents === true ? segments.map((_, i) => segments.slice(0, i + 1)) : [segments]
      let created = false
      for (const target of targets) created = yield* createOne(target)
      return created
        ? ({ status: "created", message: `Created the folder ${where}.`, path: where } as const)
        : ({ status: "exists", message: `The folder ${where} already exists.`, path: where } as const)
    })
})

// ---------------------------------------------------------------------------

const TransferInput = (verb: string) =>
  Schema.Struct({
    from: PathArgument(`File or folder to ${verb}`),
    to: PathArgument("New path (including the name); its folder must exist"),
    overwrite: Schema.optional(Schema.Boolean.annotations({ description: "Replace whatever is at `to` (default false)" }))
  })

export const MoveInput = TransferInput("move or rename")
export const CopyInput = TransferInput("copy (a folder with everything in it)")

export const MoveOutput = Tool.response(["moved", "error"], {
  from: Schema.optional(Schema.String),
  to: Schema.optional(Schema.String),
  overwritten: Schema.optional(Schema.Boolean)
})
export const CopyOutput = Tool.response(["copied", "error"], {
  from: Schema.optional(Schema.String),
  to: Schema.optional(Schema.String),
  overwritten: Schema.optional(Schema.Boolean)
})

const transfer = (kind: "move" | "copy", input: typeof MoveInput.Type, grant: Parameters<typeof davAccountOf>[0]) =>
  Effect.gen(function* () {
    const from = yield* segmentsOf(input.from, "from")
    const to = yield* segmentsOf(input.to, "to")
    yield* notRoot(from, "from", "a file or folder")
    yield* notRoot(to, "to", "a file or folder")
    if (isWithin(to, from)) {
      return yield* new InvalidArguments({
        message: `Cannot ${kind} ${displayPath(from)} to ${displayPath(to)}: the target is the same as, or inside, the source.`
      })
    }
    const account = yield* davAccountOf(grant)
    const dav = yield* WebDav
    const what = `${kind === "move" ? "Moving" : "Copying"} ${displayPath(from)} to ${displayPath(to)}`
    return yield* (kind === "move" ? dav.move : dav.copy)(account, from, to, input.overwrite ?? false).pipe(
      Effect.catchIf(misplaced, (error) =>
        stat(account, from).pipe(
          Effect.option,
          Effect.flatMap((source) => (Option.isNone(source) ? Effect.fail(notFound(from)) : orExplained(account, to, error)))
        )
      ),
      Effect.catchTags({
        NextcloudNotFound: () => Effect.fail(notFound(from)),
        NextcloudPreconditionFailed: () =>
          Effect.fail(new Conflict({ message: `${displayPath(to)} already exists; pass overwrite: true to replace it.` })),
        NextcloudForbidden: () =>
          Effect.fail(new PermissionDenied({ message: `You may not ${kind} ${displayPath(from)} to ${displayPath(to)}.` })),
        NextcloudLocked: () =>
          Effect.fail(new Locked({ message: `${what} was refused: something involved is locked (open in an editor or being synced); try again later.` })),
        DavPartialFailure: (error) => Effect.fail(partialFailure(error, what))
      }),
      whileTrying(`${kind} ${displayPath(from)} to ${displayPath(to)}`),
      Effect.map((result) => ({ from, to, overwritten: result.overwritten }))
    )
  })

export const move = Tool.make({
  name: "nc_files_move",
  title: "Move or Rename File",
  description: "Move or rename a file or folder in your Nextcloud files. Refuses to replace an existing target unless overwrite is true.",
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
  scopes: ["files.write"],
  input: MoveInput,
  output: MoveOutput,
  handler: (input, { grant }) =>
    Effect.map(transfer("move", input, grant), ({ from, to, overwritten }) => ({
      status: "moved",
      message: `Moved ${displayPath(from)} to ${displayPath(to)}${overwritten ? " (replacing what was there)" : ""}.`,
      from: displayPath(from),
      to: displayPath(to),
      overwritten
    }) as const)
})

export const copy = Tool.make({
  name: "nc_files_copy",
  title: "Copy File or Folder",
  description: "Copy a file or a folder (with everything in it) in your Nextcloud files. Refuses to replace an existing target unless overwrite is true.",
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
  scopes: ["files.write"],
  input: CopyInput,
  output: CopyOutput,
  handler: (input, { grant }) =>
    Effect.map(transfer("copy", input, grant), ({ from, to, overwritten }) => ({
      status: "copied",
      message: `Copied ${displayPath(from)} to ${displayPath(to)}${overwritten ? " (replacing what was there)" : ""}.`,
      from: displayPath(from),
      to: displayPath(to),
      overwritten
    }) as const)
})

// ---------------------------------------------------------------------------

export const DeleteFileInput = Schema.Struct({
  path: PathArgument("File or folder to delete (a folder with everything in it); it goes to the Nextcloud trash bin if enabled")
})

export const DeleteFileOutput = Tool.response(["deleted", "error"], { path: Schema.optional(Schema.String) })

export const deleteFile = Tool.make({
  name: "nc_files_delete",
  title: "Delete File or Folder",
  description: "Delete a file or a folder (with its contents) from your Nextcloud files.",
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
  scopes: ["files.write"],
  input: DeleteFileInput,
  output: DeleteFileOutput,
  handler: (input, { grant }) =>
    Effect.gen(function* () {
      const segments = yield* segmentsOf(input.path, "path")
      yield* notRoot(segments, "path", "a file or folder")
      const account = yield* davAccountOf(grant)
      const dav = yield* WebDav
      const where = displayPath(segments)
      yield* dav.remove(account, segments).pipe(
        Effect.catchTags({
          NextcloudNotFound: () => Effect.fail(notFound(segments)),
          NextcloudForbidden: () => Effect.fail(new PermissionDenied({ message: `You may not delete ${where}.` })),
          NextcloudLocked: () =>
            Effect.fail(new Locked({ message: `${where} is locked (open in an editor or being synced), so nothing was deleted; try again later.` })),
          DavPartialFailure: (error) => Effect.fail(partialFailure(error, `Deleting ${where}`))
        }),
        whileTrying(`delete ${where}`)
      )
      return { status: "deleted", message: `Deleted ${where}.`, path: where } as const
    })
})

export const filesTools = [listFiles, searchFiles, readFile, writeFile, mkdir, move, copy, deleteFile] as const
