/**
 * The user's files over WebDAV (`/remote.php/dav/files/<uid>/…`): Basic auth
 * with the login name, paths under the Nextcloud user id (which can differ
 * from the login name).
 *
 * Paths are given as segments relative to the user's root; each segment is
 * percent-encoded here, one by one, so a name can never add or remove a
 * level. PROPFIND and GET are retried on a refused connection or a 5xx (see
 * call.ts); writes are not. A 401 is never retried.
 */
import { type Headers, HttpClient, HttpClientRequest, type HttpMethod } from "@effect/platform"
import { Context, Data, Effect, Either, Layer } from "effect"
import { makeCaller, readBody } from "../../nextcloud/call.js"
import { type DavResource, hrefSegments, parseMultistatus, parseStatusMultistatus } from "../../nextcloud/davMultistatus.js"
import { escapeXml } from "../../nextcloud/davXml.js"
import { answerTooLarge, NextcloudBodyTooLarge, underBase } from "../../nextcloud/http.js"
import { NextcloudConfig } from "../../nextcloud/NextcloudConfig.js"
import type { DavAccount } from "../../nextcloud/Ocs.js"
import { type DataCallError, NextcloudNotAllowed, NextcloudProtocolError, expectStatus } from "../../nextcloud/errors.js"

export { NextcloudBodyTooLarge }

export interface DavEntry {
  /** Segments relative to the user's root (`[]` = the root). */
  readonly path: ReadonlyArray<string>
  /** Last segment ("" for the root). */
  readonly name: string
  readonly isCollection: boolean
  readonly size: number | null
  /** Epoch milliseconds. */
  readonly modified: number | null
  /** As the server sent it: `"abc"` (strong) or `W/"abc"` (weak). */
  readonly etag: string | null
  readonly contentType: string | null
  /** Nextcloud's file id (`oc:fileid`), when the server has one. */
  readonly fileId: string | null
  /** The name's bytes are not UTF-8: it is shown with U+FFFD and cannot be addressed. */
  readonly unreadable: boolean
}

/**
 * A DELETE, MOVE or COPY of a folder that failed for some members
 * (`207 Multi-Status`, or `424 Failed Dependency` with one): what was done for
 * the others stays done.
 */
export class DavPartialFailure extends Data.TaggedError("DavPartialFailure")<{
  readonly operation: string
  readonly status: number
  /** The members that failed, relative to the user's root, with their status (null: none given). */
  readonly failures: ReadonlyArray<{ readonly path: ReadonlyArray<string>; readonly status: number | null }>
}> {}

/** The server has no WebDAV SEARCH (RFC 5323) at `/remote.php/dav/`. */
export class DavSearchUnsupported extends Data.TaggedError("DavSearchUnsupported")<{
  readonly operation: string
  readonly status: number
}> {}

export interface SearchQuery {
  /** Folder to search below (`[]` = all files). */
  readonly scope: ReadonlyArray<string>
  /** SQL `LIKE` pattern on the name (`%`, `_`), case-insensitive on Nextcloud. */
  readonly nameLike?: string
  /** SQL `LIKE` pattern on the MIME type, e.g. `image/%`. */
  readonly mimeLike?: string
  readonly limit: number
  readonly offset: number
}

export interface FileContent {
  readonly bytes: Uint8Array
  readonly etag: string | null
  readonly contentType: string | null
}

export interface WriteOptions {
  /**
   * Only overwrite if the file still has this etag, in any form a server
   * gives (`"abc"`, `W/"abc"`) or bare (`abc`); see {@link preconditionHeaders}.
   */
  readonly ifMatch?: string
  /** Only create: fail with `NextcloudPreconditionFailed` if something exists there. */
  readonly createOnly?: boolean
  readonly contentType?: string
}

export interface WriteResult {
  /** 201: the file is new; 204: an existing file was overwritten. */
  readonly created: boolean
  readonly etag: string | null
}

export interface WebDavShape {
  /** PROPFIND: depth 0 = the resource only; 1 = it and its direct children. The resource comes first. */
  readonly list: (
    account: DavAccount,
    path: ReadonlyArray<string>,
    depth: 0 | 1
  ) => Effect.Effect<ReadonlyArray<DavEntry>, DataCallError>
  /**
   * GET, refusing bodies over `maxBytes` without reading them to the end
   * (`NextcloudBodyTooLarge`). Past NC_MCP_MAX_RESPONSE_BYTES, when that is
   * smaller, the answer is a protocol error like any other oversized answer.
   */
  readonly read: (
    account: DavAccount,
    path: ReadonlyArray<string>,
    maxBytes: number
  ) => Effect.Effect<FileContent, DataCallError | NextcloudBodyTooLarge>
  readonly write: (
    account: DavAccount,
    path: ReadonlyArray<string>,
    content: string | Uint8Array,
    options?: WriteOptions
  ) => Effect.Effect<WriteResult, DataCallError>
  readonly mkdir: (account: DavAccount, path: ReadonlyArray<string>) => Effect.Effect<void, DataCallError>
  /** MOVE with `Overwrite: T|F`; `overwritten` when an existing target was replaced (204). */
  readonly move: (
    account: DavAccount,
    from: ReadonlyArray<string>,
    to: ReadonlyArray<string>,
    overwrite: boolean
  ) => Effect.Effect<{ readonly overwritten: boolean }, DataCallError | DavPartialFailure>
  /** COPY (depth infinity) with `Overwrite: T|F`; `overwritten` when an existing target was replaced (204). */
  readonly copy: (
    account: DavAccount,
    from: ReadonlyArray<string>,
    to: ReadonlyArray<string>,
    overwrite: boolean
  ) => Effect.Effect<{ readonly overwritten: boolean }, DataCallError | DavPartialFailure>
  readonly remove: (account: DavAccount, path: ReadonlyArray<string>) => Effect.Effect<void, DataCallError | DavPartialFailure>
  /**
   * WebDAV SEARCH (Nextcloud's basicsearch at `/remote.php/dav/`): files and
   * folders below `scope` whose name / MIME type match, at most `limit`, from
   * `offset`. `DavSearchUnsupported` when the server has no SEARCH there.
   */
  readonly search: (
    account: DavAccount,
    query: SearchQuery
  ) => Effect.Effect<ReadonlyArray<DavEntry>, DataCallError | DavSearchUnsupported>
}

export class WebDav extends Context.Tag("nextcloud-mcp/WebDav")<WebDav, WebDavShape>() {}

const PROPFIND_BODY =
  '<?xml version="1.0" encoding="UTF-8"?>\n' +
  '<d:propfind xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns"><d:prop>' +
  "<d:resourcetype/><d:getcontentlength/><d:getlastmodified/><d:getetag/><d:getcontenttype/><oc:size/><oc:fileid/>" +
  "</d:prop></d:propfind>"

const method = (name: string) => HttpClientRequest.make(name as HttpMethod.HttpMethod)

const filesRoot = (userId: string) => `remote.php/dav/files/${encodeURIComponent(userId)}`

/**
 * The URL of a path under the user's root. Collections (and the root) get a
 * trailing slash (RFC 4918 §5.2); each segment is percent-encoded on its own.
 */
export const davUrl = (host: URL, userId: string, path: ReadonlyArray<string>, collection = false): URL =>
  underBase(host, `${filesRoot(userId)}/${path.map(encodeURIComponent).join("/")}${collection && path.length > 0 ? "/" : ""}`)

/**
 * The precondition headers for "only if it still has this etag". A strong
 * etag goes out as `If-Match` exactly as the server gave it (a bare one is
 * quoted). A weak one (`W/"…"`) never matches `If-Match`, whose comparison is
 * strong (RFC 9110 §13.1.1) — Apache's are weak during the second the file
 * was written — so it goes in the WebDAV `If` header instead (RFC 4918
 * §10.4), which compares the etag as sent.
 */
export const preconditionHeaders = (etag: string): Record<string, string> => {
  const trimmed = etag.trim()
  if (/^W\/"/.test(trimmed)) return { if: `([${trimmed}])` }
  return { "if-match": trimmed.startsWith('"') && trimmed.endsWith('"') && trimmed.length >= 2 ? trimmed : `"${trimmed}"` }
}

/** Map multistatus resources onto paths relative to the user's root. */
export const entriesOf = (
  operation: string,
  root: ReadonlyArray<string>,
  resources: ReadonlyArray<DavResource>
): Either.Either<ReadonlyArray<DavEntry>, NextcloudProtocolError> => {
  const entries: Array<DavEntry> = []
  for (const resource of resources) {
    const inRoot =
      resource.segments.length >= root.length && root.every((segment, i) => resource.segments[i] === segment)
    if (!inRoot) {
      return Either.left(new NextcloudProtocolError({ operation, status: 207, detail: "an href lies outside the user's files" }))
    }
    const path = resource.segments.slice(root.length)
    entries.push({
      path,
      name: path[path.length - 1] ?? "",
      isCollection: resource.isCollection,
      size: resource.size,
      modified: resource.modified,
      etag: resource.rawEtag ?? resource.etag,
      contentType: resource.contentType,
      fileId: resource.fileId ?? null,
      unreadable: resource.undecodable === true
    })
  }
  return Either.right(entries)
}

const header = (headers: Headers.Headers, name: string) => {
  const value = headers[name]
  return value === undefined || value === "" ? null : value
}

/** The ETag as sent (quotes and `W/` kept). */
const etagOf = (headers: Headers.Headers): string | null => header(headers, "etag") ?? header(headers, "oc-etag")

/** The members a multistatus body reports as failed, relative to the user's root. */
const failuresOf = (body: string, root: ReadonlyArray<string>) => {
  const parsed = parseStatusMultistatus(body)
  if (Either.isLeft(parsed)) return []
  return parsed.right
    .filter((r) => r.status === null || r.status >= 300)
    .map((r) => ({
      path: root.every((segment, i) => r.segments[i] === segment) ? r.segments.slice(root.length) : r.segments,
      status: r.status
    }))
}

/** Whether `location` is `url` with a trailing slash added (a server asking for a collection's slash form). */
const addsSlash = (url: string, location: string | null): boolean => {
  if (location === null) return false
  const target = Either.getOrNull(Either.try(() => new URL(location, url)))
  const wanted = new URL(url)
  wanted.pathname = `${wanted.pathname}/`
  return target !== null && target.pathname === wanted.pathname
}

const SEARCH_UNSUPPORTED: ReadonlySet<number> = new Set([400, 403, 404, 405, 415, 422, 501])

const searchBody = (userId: string, query: SearchQuery): Either.Either<string, string> => {
  const conditions: Array<string> = []
  const literal = (text: string) => escapeXml(text)
  if (query.nameLike !== undefined) {
    const v = literal(query.nameLike)
    if (Either.isLeft(v)) return v
    conditions.push(`<d:like><d:prop><d:displayname/></d:prop><d:literal>${v.right}</d:literal></d:like>`)
  }
  if (query.mimeLike !== undefined) {
    const v = literal(query.mimeLike)
    if (Either.isLeft(v)) return v
    conditions.push(`<d:like><d:prop><d:getcontenttype/></d:prop><d:literal>${v.right}</d:literal></d:like>`)
  }
  const scope = literal(`/files/${[userId, ...query.scope].map(encodeURIComponent).join("/")}`)
  if (Either.isLeft(scope)) return scope
  const where =
    conditions.length === 0
      ? "<d:not><d:eq><d:prop><d:displayname/></d:prop><d:literal></d:literal></d:eq></d:not>"
      : conditions.length === 1
        ? conditions[0]
        : `<d:and>${conditions.join("")}</d:and>`
  return Either.right(
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
      '<d:searchrequest xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns" xmlns:ns="https://github.com/icewind1991/SearchDAV/ns">' +
      "<d:basicsearch><d:select><d:prop>" +
      "<d:resourcetype/><d:getcontentlength/><d:getlastmodified/><d:getetag/><d:getcontenttype/><oc:size/><oc:fileid/>" +
      "</d:prop></d:select>" +
      `<d:from><d:scope><d:href>${scope.right}</d:href><d:depth>infinity</d:depth></d:scope></d:from>` +
      `<d:where>${where}</d:where>` +
      "<d:orderby><d:order><d:prop><d:displayname/></d:prop><d:ascending/></d:order></d:orderby>" +
      `<d:limit><d:nresults>${query.limit}</d:nresults><ns:firstresult>${query.offset}</ns:firstresult></d:limit>` +
      "</d:basicsearch></d:searchrequest>"
  )
}

export const WebDavLive: Layer.Layer<WebDav, never, HttpClient.HttpClient | NextcloudConfig> = Layer.effect(
  WebDav,
  Effect.gen(function* () {
    const config = yield* NextcloudConfig
    const nc = makeCaller(yield* HttpClient.HttpClient, config)

    const authed = (account: DavAccount) => HttpClientRequest.basicAuth(account.loginName, account.appPassword)
    const url = (account: DavAccount, path: ReadonlyArray<string>, collection = false) =>
      davUrl(config.host, account.userId, path, collection)

    /**
     * Sends a request; a `301`/`308` that only adds the trailing slash of a
     * collection (RFC 4918 §5.2) is followed once, to the same origin: the
     * server did nothing with the first request. Writes are never repeated
     * otherwise: only reads pass `idempotent: true`.
     */
    const exchange = (
      operation: string,
      make: (collection: boolean) => HttpClientRequest.HttpClientRequest,
      options = { idempotent: false }
    ) =>
      nc.text(operation, make(false), options).pipe(
        Effect.flatMap((response) => {
          if (response.status !== 301 && response.status !== 308) return Effect.succeed(response)
          return addsSlash(make(false).url, header(response.headers, "location"))
            ? nc.text(operation, make(true), options)
            : Effect.succeed(response)
        })
      )
    const send = (
      operation: string,
      make: (collection: boolean) => HttpClientRequest.HttpClientRequest,
      expected: ReadonlyArray<number>,
      options = { idempotent: false }
    ) => exchange(operation, make, options).pipe(Effect.flatMap(expectStatus(operation, expected)))

    const root = (account: DavAccount, operation: string) => {
      const segments = hrefSegments(davUrl(config.host, account.userId, []).pathname)
      return Either.isLeft(segments)
        ? Effect.fail(new NextcloudProtocolError({ operation, status: 0, detail: segments.left }))
        : Effect.succeed(segments.right)
    }

    const entriesFrom = (operation: string, account: DavAccount, response: { readonly status: number; readonly body: string }) =>
      Effect.gen(function* () {
        const resources = parseMultistatus(response.body)
        if (Either.isLeft(resources)) {
          return yield* new NextcloudProtocolError({ operation, status: response.status, detail: `unexpected body: ${resources.left}` })
        }
        return yield* entriesOf(operation, yield* root(account, operation), resources.right)
      })

    const list = Effect.fn("WebDav.list")(function* (account: DavAccount, path: ReadonlyArray<string>, depth: 0 | 1) {
      const operation = "WebDav.list"
      const response = yield* send(
        operation,
        (collection) =>
          method("PROPFIND")(url(account, path, collection)).pipe(
            authed(account),
            HttpClientRequest.setHeaders({ depth: String(depth), accept: "application/xml, text/xml" }),
            HttpClientRequest.bodyText(PROPFIND_BODY, "application/xml; charset=utf-8")
          ),
        [207],
        { idempotent: true }
      )
      const entries = yield* entriesFrom(operation, account, response)
      const self = entries.filter((e) => e.path.length === path.length)
      const children = entries.filter((e) => e.path.length !== path.length)
      if (self.length === 0) {
        return yield* new NextcloudProtocolError({ operation, status: 207, detail: "the answer does not describe the requested path" })
      }
      return [...self.slice(0, 1), ...children]
    })

    const read = Effect.fn("WebDav.read")(function* (account: DavAccount, path: ReadonlyArray<string>, maxBytes: number) {
      const operation = "WebDav.read"
      const limit = Math.min(maxBytes, config.maxResponseBytes)
      const request = HttpClientRequest.get(url(account, path)).pipe(authed(account), HttpClientRequest.setHeader("accept", "*/*"))
      const answer = yield* nc.call(operation, request, { idempotent: true }, (response) =>
        // Only a 200 is read; any other answer's body is dropped with the connection.
        response.status !== 200
          ? Effect.succeed({ status: response.status, headers: response.headers, bytes: new Uint8Array(0) })
          : Effect.map(readBody(operation, response, limit), (bytes) => ({ status: 200, headers: response.headers, bytes }))
      ).pipe(
        Effect.catchTag("NextcloudBodyTooLarge", (error) =>
          Effect.fail(limit < maxBytes ? answerTooLarge(operation, 200, limit) : error)
        ),
        Effect.flatMap(expectStatus(operation, [200]))
      )
      return {
        bytes: answer.bytes,
        etag: etagOf(answer.headers),
        contentType: header(answer.headers, "content-type")
      } satisfies FileContent
    })

    const write = Effect.fn("WebDav.write")(function* (
      account: DavAccount,
      path: ReadonlyArray<string>,
      content: string | Uint8Array,
      options: WriteOptions = {}
    ) {
      const operation = "WebDav.write"
      const contentType = options.contentType ?? "application/octet-stream"
      let request = HttpClientRequest.put(url(account, path)).pipe(
        authed(account),
        typeof content === "string"
          ? HttpClientRequest.bodyText(content, contentType)
          : HttpClientRequest.bodyUint8Array(content, contentType)
      )
      if (options.ifMatch !== undefined) request = HttpClientRequest.setHeaders(request, preconditionHeaders(options.ifMatch))
      if (options.createOnly === true) request = HttpClientRequest.setHeader(request, "if-none-match", "*")
      const answer = yield* nc.text(operation, request, { idempotent: false })
      // A redirect to the slash form: a collection is there (Apache), and a PUT cannot replace it.
      if ((answer.status === 301 || answer.status === 308) && addsSlash(request.url, header(answer.headers, "location"))) {
        return yield* new NextcloudNotAllowed({ operation })
      }
      const response = yield* expectStatus(operation, [200, 201, 204])(answer)
      const sent = etagOf(response.headers)
      // Not every server answers a PUT with the new ETag (Apache does not): ask for it.
      const etag =
        sent ??
        (yield* list(account, path, 0).pipe(
          Effect.map((entries) => entries[0]?.etag ?? null),
          Effect.orElseSucceed(() => null)
        ))
      return { created: response.status === 201, etag } satisfies WriteResult
    })

    const mkdir = Effect.fn("WebDav.mkdir")(function* (account: DavAccount, path: ReadonlyArray<string>) {
      const operation = "WebDav.mkdir"
      yield* nc
        .text(operation, method("MKCOL")(url(account, path, true)).pipe(authed(account)), { idempotent: false })
        .pipe(Effect.flatMap(expectStatus(operation, [201])))
    })

    /** A multistatus (207) or 424 answer to a DELETE, MOVE or COPY: the members that failed. */
    const partial = (operation: string, account: DavAccount) => (response: { readonly status: number; readonly body: string }) =>
      Effect.gen(function* () {
        if (response.status !== 207 && response.status !== 424) return response
        const failures = failuresOf(response.body, yield* root(account, operation))
        if (response.status === 207 && failures.length === 0) return { ...response, status: 204 }
        return yield* new DavPartialFailure({ operation, status: response.status, failures })
      })

    const transfer = (name: "MOVE" | "COPY") =>
      Effect.fn(`WebDav.${name.toLowerCase()}`)(function* (
        account: DavAccount,
        from: ReadonlyArray<string>,
        to: ReadonlyArray<string>,
        overwrite: boolean
      ) {
        const operation = `WebDav.${name.toLowerCase()}`
        const response = yield* exchange(operation, (collection) =>
          method(name)(url(account, from, collection)).pipe(
            authed(account),
            HttpClientRequest.setHeaders({
              destination: url(account, to, collection).href,
              overwrite: overwrite ? "T" : "F",
              ...(name === "COPY" ? { depth: "infinity" } : {})
            })
          )
        ).pipe(Effect.flatMap(partial(operation, account)), Effect.flatMap(expectStatus(operation, [201, 204])))
        return { overwritten: response.status === 204 }
      })

    const remove = Effect.fn("WebDav.remove")(function* (account: DavAccount, path: ReadonlyArray<string>) {
      const operation = "WebDav.remove"
      yield* exchange(operation, (collection) => HttpClientRequest.del(url(account, path, collection)).pipe(authed(account))).pipe(
        Effect.flatMap(partial(operation, account)),
        Effect.flatMap(expectStatus(operation, [200, 204]))
      )
    })

    const search = Effect.fn("WebDav.search")(function* (account: DavAccount, query: SearchQuery) {
      const operation = "WebDav.search"
      const body = searchBody(account.userId, query)
      if (Either.isLeft(body)) return yield* new NextcloudProtocolError({ operation, status: 0, detail: `the query ${body.left}` })
      const request = method("SEARCH")(underBase(config.host, "remote.php/dav/")).pipe(
        authed(account),
        HttpClientRequest.setHeaders({ accept: "application/xml, text/xml" }),
        HttpClientRequest.bodyText(body.right, "text/xml; charset=utf-8")
      )
      const response = yield* nc.text(operation, request, { idempotent: true })
      if (SEARCH_UNSUPPORTED.has(response.status)) return yield* new DavSearchUnsupported({ operation, status: response.status })
      yield* expectStatus(operation, [207])(response)
      const entries = yield* entriesFrom(operation, account, response)
      return entries.filter((e) => e.path.length > 0)
    })

    return WebDav.of({ list, read, write, mkdir, move: transfer("MOVE"), copy: transfer("COPY"), remove, search })
  })
)
