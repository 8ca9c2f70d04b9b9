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
import { Context, Effect, Either, Layer } from "effect"
import { makeCaller, readBody } from "../../nextcloud/call.js"
import { type DavResource, hrefSegments, parseMultistatus, unquoteEtag } from "../../nextcloud/davMultistatus.js"
import { answerTooLarge, NextcloudBodyTooLarge, underBase } from "../../nextcloud/http.js"
import { NextcloudConfig } from "../../nextcloud/NextcloudConfig.js"
import type { DavAccount } from "../../nextcloud/Ocs.js"
import { type DataCallError, NextcloudProtocolError, expectStatus } from "../../nextcloud/errors.js"

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
  readonly etag: string | null
  readonly contentType: string | null
}

export interface FileContent {
  readonly bytes: Uint8Array
  readonly etag: string | null
  readonly contentType: string | null
}

export interface WriteOptions {
  /** Only overwrite if the file still has this etag. */
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
  ) => Effect.Effect<{ readonly overwritten: boolean }, DataCallError>
  readonly remove: (account: DavAccount, path: ReadonlyArray<string>) => Effect.Effect<void, DataCallError>
}

export class WebDav extends Context.Tag("nextcloud-mcp/WebDav")<WebDav, WebDavShape>() {}

const PROPFIND_BODY =
  '<?xml version="1.0" encoding="UTF-8"?>\n' +
  '<d:propfind xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns"><d:prop>' +
  "<d:resourcetype/><d:getcontentlength/><d:getlastmodified/><d:getetag/><d:getcontenttype/><oc:size/>" +
  "</d:prop></d:propfind>"

const method = (name: string) => HttpClientRequest.make(name as HttpMethod.HttpMethod)

const filesRoot = (userId: string) => `remote.php/dav/files/${encodeURIComponent(userId)}`

/** The URL of a path under the user's root (a trailing slash for the root itself). */
export const davUrl = (host: URL, userId: string, path: ReadonlyArray<string>): URL =>
  underBase(host, `${filesRoot(userId)}/${path.map(encodeURIComponent).join("/")}`)

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
      etag: resource.etag,
      contentType: resource.contentType
    })
  }
  return Either.right(entries)
}

const header = (headers: Headers.Headers, name: string) => {
  const value = headers[name]
  return value === undefined || value === "" ? null : value
}

const etagOf = (headers: Headers.Headers): string | null => {
  const etag = header(headers, "etag") ?? header(headers, "oc-etag")
  return etag === null ? null : unquoteEtag(etag)
}

export const WebDavLive: Layer.Layer<WebDav, never, HttpClient.HttpClient | NextcloudConfig> = Layer.effect(
  WebDav,
  Effect.gen(function* () {
    const config = yield* NextcloudConfig
    const nc = makeCaller(yield* HttpClient.HttpClient, config)

    const authed = (account: DavAccount) => HttpClientRequest.basicAuth(account.loginName, account.appPassword)
    /** Writes are never repeated: only `list` passes `idempotent: true`. */
    const send = (
      operation: string,
      request: HttpClientRequest.HttpClientRequest,
      expected: ReadonlyArray<number>,
      options = { idempotent: false }
    ) => nc.text(operation, request, options).pipe(Effect.flatMap(expectStatus(operation, expected)))
    const url = (account: DavAccount, path: ReadonlyArray<string>) => davUrl(config.host, account.userId, path)

    const list = Effect.fn("WebDav.list")(function* (account: DavAccount, path: ReadonlyArray<string>, depth: 0 | 1) {
      const operation = "WebDav.list"
      const request = method("PROPFIND")(url(account, path)).pipe(
        authed(account),
        HttpClientRequest.setHeaders({ depth: String(depth), accept: "application/xml, text/xml" }),
        HttpClientRequest.bodyText(PROPFIND_BODY, "application/xml; charset=utf-8")
      )
      const response = yield* send(operation, request, [207], { idempotent: true })
      const resources = parseMultistatus(response.body)
      if (Either.isLeft(resources)) {
        return yield* new NextcloudProtocolError({ operation, status: response.status, detail: `unexpected body: ${resources.left}` })
      }
      const root = hrefSegments(davUrl(config.host, account.userId, []).pathname)
      if (Either.isLeft(root)) return yield* new NextcloudProtocolError({ operation, status: 0, detail: root.left })
      const entries = yield* entriesOf(operation, root.right, resources.right)
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
      if (options.ifMatch !== undefined) request = HttpClientRequest.setHeader(request, "if-match", `"${options.ifMatch}"`)
      if (options.createOnly === true) request = HttpClientRequest.setHeader(request, "if-none-match", "*")
      const response = yield* send(operation, request, [200, 201, 204])
      return { created: response.status === 201, etag: etagOf(response.headers) } satisfies WriteResult
    })

    const mkdir = Effect.fn("WebDav.mkdir")(function* (account: DavAccount, path: ReadonlyArray<string>) {
      const operation = "WebDav.mkdir"
      yield* send(operation, method("MKCOL")(url(account, path)).pipe(authed(account)), [201])
    })

    const move = Effect.fn("WebDav.move")(function* (
      account: DavAccount,
      from: ReadonlyArray<string>,
      to: ReadonlyArray<string>,
      overwrite: boolean
    ) {
      const operation = "WebDav.move"
      const request = method("MOVE")(url(account, from)).pipe(
        authed(account),
        HttpClientRequest.setHeaders({ destination: url(account, to).href, overwrite: overwrite ? "T" : "F" })
      )
      const response = yield* send(operation, request, [201, 204])
      return { overwritten: response.status === 204 }
    })

    const remove = Effect.fn("WebDav.remove")(function* (account: DavAccount, path: ReadonlyArray<string>) {
      const operation = "WebDav.remove"
      yield* send(operation, HttpClientRequest.del(url(account, path)).pipe(authed(account)), [200, 204])
    })

    return WebDav.of({ list, read, write, mkdir, move, remove })
  })
)
