/**
 * The WebDAV subset of `/remote.php/dav/files/<uid>/…` the product uses, as
 * Nextcloud (SabreDAV) answers it (docs/nextcloud-protocol.md §9, §10): PROPFIND (depth 0/1; `infinity` is
 * treated as 1, as Nextcloud does by default) with a `d:multistatus`, GET,
 * PUT (201/204, `If-Match`/`If-None-Match` → 412), MKCOL (405 if it exists,
 * 409 without a parent), MOVE (`Destination`, `Overwrite`), DELETE. Errors
 * carry Sabre's XML error body. Per-user quota (507) and locks (423) are set
 * through hooks.
 */
import { createHash } from "node:crypto"
import { HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect, Either } from "effect"
import { childNamed, DAV_NS, isElement, parseXml, textOf, type XmlElement } from "../../nextcloud/davXml.js"
import { davUser, sabreError } from "../../simulator/dav.js"
import { header } from "../../simulator/http.js"
import { pathOf } from "../../simulator/routeKeys.js"
import { now, type SimState } from "../../simulator/state.js"

/** The simulated files of one simulator: its users' files, quotas and locks, beside the simulator's own state. */
export interface DavState {
  readonly sim: SimState
  /** Files per uid: relative path ("" = root, "a/b") → node. */
  readonly files: Map<string, Map<string, DavNode>>
  /** Storage quota per uid, bytes; absent = unlimited. */
  readonly quotas: Map<string, number>
  /** Locked paths, `${uid}\u0000${relative path}`. */
  readonly locks: Set<string>
}

export const makeDavState = (sim: SimState): DavState => ({ sim, files: new Map(), quotas: new Map(), locks: new Set() })

export type DavNode =
  | { readonly kind: "dir"; modified: number; etag: string; readonly fileId: number }
  | { readonly kind: "file"; content: Uint8Array; modified: number; etag: string; contentType: string; readonly fileId: number }

export const DAV_PREFIX = "/remote.php/dav/files/"

/** The DAV root, where Nextcloud answers WebDAV SEARCH (basicsearch). */
export const DAV_ROOT = "/remote.php/dav"

/** Files, and SEARCH at the DAV root (other requests there are the calendar's and the contacts' discovery). */
export const isDavPath = (path: string, method = "SEARCH"): boolean =>
  path.startsWith(DAV_PREFIX) ||
  path === DAV_PREFIX.slice(0, -1) ||
  ((path === DAV_ROOT || path === `${DAV_ROOT}/`) && method.toUpperCase() === "SEARCH")

const MIME: Readonly<Record<string, string>> = {
  txt: "text/plain",
  md: "text/markdown",
  csv: "text/csv",
  json: "application/json",
  html: "text/html",
  xml: "application/xml",
  yaml: "application/x-yaml",
  yml: "application/x-yaml",
  pdf: "application/pdf",
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  zip: "application/zip"
}

/** Nextcloud derives the MIME type from the extension, not from the request. */
export const mimeOf = (name: string): string => {
  const dot = name.lastIndexOf(".")
  return (dot > 0 ? MIME[name.slice(dot + 1).toLowerCase()] : undefined) ?? "application/octet-stream"
}

export const key = (segments: ReadonlyArray<string>): string => segments.join("/")

export const userFiles = (state: DavState, userId: string, at: number): Map<string, DavNode> => {
  let files = state.files.get(userId)
  if (files === undefined) {
    files = new Map([["", { kind: "dir", modified: at, etag: freshEtag(state), fileId: freshFileId(state) }]])
    state.files.set(userId, files)
  }
  return files
}

/** Nextcloud's numeric file ids (`oc:fileid`); kept by a move, new for a copy. */
export const freshFileId = (state: DavState): number => state.sim.nextId++

export const freshEtag = (state: DavState): string =>
  createHash("md5").update(`etag-${state.sim.nextId++}-${Math.random()}`).digest("hex").slice(0, 13)

/** Like Nextcloud, a change gives the item and every folder above it a new etag and mtime. */
export const touchAncestors = (state: DavState, files: Map<string, DavNode>, segments: ReadonlyArray<string>, at: number) => {
  for (let i = segments.length - 1; i >= 0; i--) {
    const node = files.get(key(segments.slice(0, i)))
    if (node !== undefined) {
      node.etag = freshEtag(state)
      node.modified = at
    }
  }
}

const usedBytes = (state: DavState, userId: string): number => {
  let total = 0
  for (const node of state.files.get(userId)?.values() ?? []) if (node.kind === "file") total += node.content.byteLength
  return total
}

export const lockKey = (userId: string, segments: ReadonlyArray<string>) => `${userId}\u0000${key(segments)}`

/** Locked when the item or a folder above it is locked (or, for `subtree`, anything below it). */
const isLocked = (state: DavState, userId: string, segments: ReadonlyArray<string>, subtree = false): boolean => {
  for (let i = 0; i <= segments.length; i++) if (state.locks.has(lockKey(userId, segments.slice(0, i)))) return true
  if (!subtree) return false
  const prefix = `${lockKey(userId, segments)}/`
  for (const lock of state.locks) if (lock.startsWith(prefix) || (segments.length === 0 && lock.startsWith(`${userId}\u0000`))) return true
  return false
}

// ---------------------------------------------------------------------------
// Wire format


const httpDate = (ms: number): string => new Date(ms).toUTCString()

const encodeHref = (userId: string, segments: ReadonlyArray<string>, dir: boolean): string =>
  `${DAV_PREFIX}${[userId, ...segments].map(encodeURIComponent).join("/")}${dir ? "/" : ""}`

const xmlText = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")

const responseXml = (userId: string, segments: ReadonlyArray<string>, node: DavNode, files: Map<string, DavNode>): string => {
  const found: Array<string> = [
    `<d:getlastmodified>${httpDate(node.modified)}</d:getlastmodified>`,
    `<d:getetag>&quot;${node.etag}&quot;</d:getetag>`,
    `<oc:fileid>${node.fileId}</oc:fileid>`
  ]
  const missing: Array<string> = []
  if (node.kind === "dir") {
    let size = 0
    const prefix = segments.length === 0 ? "" : `${key(segments)}/`
    for (const [k, n] of files) if (n.kind === "file" && k.startsWith(prefix)) size += n.content.byteLength
    found.push("<d:resourcetype><d:collection/></d:resourcetype>", `<oc:size>${size}</oc:size>`)
    missing.push("<d:getcontentlength/>", "<d:getcontenttype/>")
  } else {
    found.push(
      "<d:resourcetype/>",
      `<d:getcontentlength>${node.content.byteLength}</d:getcontentlength>`,
      `<d:getcontenttype>${xmlText(node.contentType)}</d:getcontenttype>`,
      `<oc:size>${node.content.byteLength}</oc:size>`
    )
  }
  return (
    `<d:response><d:href>${xmlText(encodeHref(userId, segments, node.kind === "dir"))}</d:href>` +
    `<d:propstat><d:prop>${found.join("")}</d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat>` +
    (missing.length > 0 ? `<d:propstat><d:prop>${missing.join("")}</d:prop><d:status>HTTP/1.1 404 Not Found</d:status></d:propstat>` : "") +
    "</d:response>"
  )
}

const multistatus = (responses: ReadonlyArray<string>) =>
  HttpServerResponse.text(
    `<?xml version="1.0"?>\n<d:multistatus xmlns:d="DAV:" xmlns:s="http://sabredav.org/ns" xmlns:oc="http://owncloud.org/ns" xmlns:nc="http://nextcloud.org/ns">` +
      `${responses.join("")}</d:multistatus>\n`,
    { status: 207, contentType: "application/xml; charset=utf-8" }
  )

/** Split `/remote.php/dav/files/<uid>/<a>/<b>` into the uid and decoded segments. */
export const parseDavPath = (
  rawPath: string
): { readonly userId: string; readonly segments: ReadonlyArray<string> } | null => {
  const parts = rawPath.slice(DAV_PREFIX.length).split("/").filter((p) => p !== "")
  const decoded: Array<string> = []
  for (const part of parts) {
    const attempt = Either.try(() => decodeURIComponent(part))
    if (Either.isLeft(attempt)) return null
    const value = attempt.right
    if (value === "." || value === ".." || value.includes("/") || value.includes("\u0000")) return null
    decoded.push(value)
  }
  const [userId, ...segments] = decoded
  return userId === undefined ? null : { userId, segments }
}

/**
 * `If-Match` compares strongly (RFC 9110 §13.1.1): a weak validator (`W/"…"`)
 * never matches; Nextcloud's etags are strong. `If-None-Match` compares weakly.
 */
const etagMatches = (headerValue: string, etag: string, weak = false): boolean =>
  headerValue.trim() === "*" ||
  headerValue.split(",").some((v) => {
    const t = v.trim()
    if (t.startsWith("W/") && !weak) return false
    return t.replace(/^W\//, "") === `"${etag}"`
  })

/**
 * The entity tags of a WebDAV `If` header (RFC 4918 §10.4) in untagged lists,
 * as sabre/dav checks them: each `[etag]` must equal the resource's etag.
 * Lock tokens are not modelled (null: none given).
 */
const ifHeaderEtags = (value: string): ReadonlyArray<string> => [...value.matchAll(/\[([^\]]*)\]/g)].map((m) => (m[1] ?? "").trim())

// ---------------------------------------------------------------------------
// Methods

interface DavRequest {
  readonly request: HttpServerRequest.HttpServerRequest
  readonly userId: string
  readonly segments: ReadonlyArray<string>
  readonly files: Map<string, DavNode>
  readonly at: number
}

const notFound = (segments: ReadonlyArray<string>) =>
  sabreError(404, "NotFound", `File with name ${segments.join("/")} could not be located`)

const locked = () => sabreError(423, "Locked", "The resource you tried to edit is locked")

const propfind = (r: DavRequest) => {
  const node = r.files.get(key(r.segments))
  if (node === undefined) return notFound(r.segments)
  const depth = (header(r.request, "depth") ?? "infinity").trim().toLowerCase()
  const responses = [responseXml(r.userId, r.segments, node, r.files)]
  if (depth !== "0" && node.kind === "dir") {
    const prefix = r.segments.length === 0 ? "" : `${key(r.segments)}/`
    const children = [...r.files.keys()]
      .filter((k) => k !== "" && k.startsWith(prefix) && !k.slice(prefix.length).includes("/"))
      .sort()
    for (const child of children) {
      const childNode = r.files.get(child)
      if (childNode !== undefined) responses.push(responseXml(r.userId, child.split("/"), childNode, r.files))
    }
  }
  return multistatus(responses)
}

const get = (r: DavRequest, head: boolean) => {
  const node = r.files.get(key(r.segments))
  if (node === undefined) return notFound(r.segments)
  if (node.kind === "dir") {
    return HttpServerResponse.html(
      "<!DOCTYPE html><html><body>This is the WebDAV interface. It can only be accessed by WebDAV clients such as the Nextcloud desktop sync client.</body></html>"
    )
  }
  const headers = {
    ETag: `"${node.etag}"`,
    "OC-ETag": `"${node.etag}"`,
    "Last-Modified": httpDate(node.modified)
  }
  return HttpServerResponse.setHeaders(
    head
      ? HttpServerResponse.empty({ status: 200, headers: { "content-length": String(node.content.byteLength), "content-type": node.contentType } })
      : HttpServerResponse.uint8Array(node.content, { contentType: node.contentType }),
    headers
  )
}

const put = (state: DavState, r: DavRequest) =>
  Effect.gen(function* () {
    if (r.segments.length === 0) return sabreError(409, "Conflict", "PUT is not allowed on non-files.")
    const parent = r.files.get(key(r.segments.slice(0, -1)))
    if (parent === undefined || parent.kind !== "dir") return sabreError(409, "Conflict", "Files cannot be created in non-existent collections")
    const existing = r.files.get(key(r.segments))
    if (existing !== undefined && existing.kind === "dir") return sabreError(409, "Conflict", "PUT is not allowed on non-files.")
    const ifMatch = header(r.request, "if-match")
    if (ifMatch !== undefined && (existing === undefined || !etagMatches(ifMatch, existing.etag))) {
      return sabreError(412, "PreconditionFailed", "An If-Match header was specified, but none of the specified ETags matched.")
    }
    const ifHeader = header(r.request, "if")
    if (ifHeader !== undefined) {
      const tags = ifHeaderEtags(ifHeader)
      if (tags.length > 0 && (existing === undefined || !tags.some((t) => t.replace(/^W\//, "") === `"${existing.etag}"`))) {
        return sabreError(412, "PreconditionFailed", "An If-Header was specified, but none of the specified ETags matched.")
      }
    }
    const ifNoneMatch = header(r.request, "if-none-match")
    if (ifNoneMatch !== undefined && existing !== undefined && etagMatches(ifNoneMatch, existing.etag, true)) {
      return sabreError(412, "PreconditionFailed", "An If-None-Match header was specified, but the ETag matched (or * was specified).")
    }
    if (isLocked(state, r.userId, r.segments)) return locked()
    const body = new Uint8Array(yield* Effect.orElseSucceed(r.request.arrayBuffer, () => new ArrayBuffer(0)))
    const quota = state.quotas.get(r.userId)
    const after = usedBytes(state, r.userId) - (existing?.kind === "file" ? existing.content.byteLength : 0) + body.byteLength
    if (quota !== undefined && after > quota) {
      return sabreError(507, "InsufficientStorage", `Insufficient space in ${r.segments.join("/")}, ${body.byteLength} required, ${Math.max(0, quota - usedBytes(state, r.userId))} available`)
    }
    const etag = freshEtag(state)
    r.files.set(key(r.segments), {
      kind: "file",
      content: body,
      modified: r.at,
      etag,
      contentType: mimeOf(r.segments[r.segments.length - 1] ?? ""),
      fileId: existing?.fileId ?? freshFileId(state)
    })
    touchAncestors(state, r.files, r.segments, r.at)
    return HttpServerResponse.empty({
      status: existing === undefined ? 201 : 204,
      headers: { ETag: `"${etag}"`, "OC-ETag": `"${etag}"` }
    })
  })

const mkcol = (state: DavState, r: DavRequest) =>
  Effect.gen(function* () {
    const body = yield* Effect.orElseSucceed(r.request.text, () => "")
    if (body.trim() !== "") return sabreError(415, "UnsupportedMediaType", "The request body for the MKCOL request must be empty")
    if (r.files.has(key(r.segments))) {
      return sabreError(405, "MethodNotAllowed", "The resource you tried to create already exists")
    }
    const parent = r.files.get(key(r.segments.slice(0, -1)))
    if (parent === undefined || parent.kind !== "dir") return sabreError(409, "Conflict", "Parent node does not exist")
    if (isLocked(state, r.userId, r.segments)) return locked()
    r.files.set(key(r.segments), { kind: "dir", modified: r.at, etag: freshEtag(state), fileId: freshFileId(state) })
    touchAncestors(state, r.files, r.segments, r.at)
    return HttpServerResponse.empty({ status: 201 })
  })

const subtreeKeys = (files: Map<string, DavNode>, segments: ReadonlyArray<string>): Array<string> => {
  const k = key(segments)
  return [...files.keys()].filter((p) => p === k || p.startsWith(`${k}/`))
}

const transfer = (state: DavState, r: DavRequest, kind: "move" | "copy") =>
  Effect.sync(() => {
    const destination = header(r.request, "destination")
    if (destination === undefined) return sabreError(400, "BadRequest", "The destination header was not supplied")
    const destUrl = Either.try(() => new URL(destination, state.sim.url))
    if (Either.isLeft(destUrl)) return sabreError(400, "BadRequest", "The destination header is not a valid URL")
    const destPath = destUrl.right.pathname
    if (!isDavPath(destPath)) return sabreError(502, "BadGateway", "The destination node is not on the same server")
    const dest = parseDavPath(destPath)
    if (dest === null) return sabreError(400, "BadRequest", "The destination is not a valid path")
    if (dest.userId !== r.userId) return sabreError(403, "Forbidden", "The destination is not in your files")
    const overwrite = (header(r.request, "overwrite") ?? "T").trim().toUpperCase()
    if (overwrite !== "T" && overwrite !== "F") return sabreError(400, "BadRequest", "The HTTP Overwrite header should be either T or F")
    if (r.segments.length === 0) return sabreError(403, "Forbidden", "The root folder cannot be moved")
    const source = r.files.get(key(r.segments))
    if (source === undefined) return notFound(r.segments)
    if (key(dest.segments) === key(r.segments)) return sabreError(403, "Forbidden", "Source and destination uri are identical.")
    if (dest.segments.length === 0) return sabreError(409, "Conflict", "Cannot replace the root folder")
    if (key(dest.segments).startsWith(`${key(r.segments)}/`)) return sabreError(409, "Conflict", "Cannot move a collection into itself")
    const destParent = r.files.get(key(dest.segments.slice(0, -1)))
    if (destParent === undefined || destParent.kind !== "dir") return sabreError(409, "Conflict", "The destination node is not found")
    const existing = r.files.get(key(dest.segments))
    if (existing !== undefined && overwrite === "F") {
      return sabreError(412, "PreconditionFailed", "The destination node already exists, and the overwrite header is set to false")
    }
    if ((kind === "move" && isLocked(state, r.userId, r.segments, true)) || isLocked(state, r.userId, dest.segments, true)) return locked()
    if (existing !== undefined) for (const k of subtreeKeys(r.files, dest.segments)) r.files.delete(k)
    const from = key(r.segments)
    const to = key(dest.segments)
    for (const k of subtreeKeys(r.files, r.segments)) {
      const node = r.files.get(k)
      if (node === undefined) continue
      if (kind === "move") {
        r.files.delete(k)
        r.files.set(`${to}${k.slice(from.length)}`, node)
      } else {
        const copied: DavNode =
          node.kind === "dir"
            ? { kind: "dir", modified: r.at, etag: freshEtag(state), fileId: freshFileId(state) }
            : { ...node, content: new Uint8Array(node.content), modified: r.at, etag: freshEtag(state), fileId: freshFileId(state) }
        r.files.set(`${to}${k.slice(from.length)}`, copied)
      }
    }
    if (kind === "move") touchAncestors(state, r.files, r.segments, r.at)
    touchAncestors(state, r.files, dest.segments, r.at)
    return HttpServerResponse.empty({ status: existing === undefined ? 201 : 204 })
  })

const remove = (state: DavState, r: DavRequest) =>
  Effect.sync(() => {
    if (r.segments.length === 0) return sabreError(403, "Forbidden", "The root folder cannot be deleted")
    if (!r.files.has(key(r.segments))) return notFound(r.segments)
    if (isLocked(state, r.userId, r.segments, true)) return locked()
    for (const k of subtreeKeys(r.files, r.segments)) r.files.delete(k)
    touchAncestors(state, r.files, r.segments, r.at)
    return HttpServerResponse.empty({ status: 204 })
  })

// ---------------------------------------------------------------------------
// SEARCH (RFC 5323 basicsearch, as Nextcloud's SearchDAV plugin serves it at /remote.php/dav/)

const SEARCHDAV_NS = "https://github.com/icewind1991/SearchDAV/ns"
const OC = "http://owncloud.org/ns"

interface Candidate {
  readonly segments: ReadonlyArray<string>
  readonly node: DavNode
}

const propValue = (c: Candidate, prop: XmlElement | undefined): string | number | null => {
  const first = prop?.children.find(isElement)
  if (first === undefined) return null
  const name = c.segments[c.segments.length - 1] ?? ""
  if (first.ns === DAV_NS && first.local === "displayname") return name
  if (first.ns === DAV_NS && first.local === "getcontenttype") return c.node.kind === "dir" ? "httpd/unix-directory" : c.node.contentType
  if (first.ns === DAV_NS && first.local === "getlastmodified") return c.node.modified
  if ((first.ns === OC && first.local === "size") || (first.ns === DAV_NS && first.local === "getcontentlength")) {
    return c.node.kind === "file" ? c.node.content.byteLength : 0
  }
  if (first.ns === OC && first.local === "fileid") return c.node.fileId
  return null
}

/** SQL LIKE, case-insensitive: `%` any run, `_` one character. */
const likeMatches = (pattern: string, value: string): boolean => {
  const re = [...pattern].map((ch) => (ch === "%" ? ".*" : ch === "_" ? "." : ch.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&"))).join("")
  return new RegExp(`^${re}$`, "isu").test(value)
}

const evaluate = (c: Candidate, where: XmlElement): Either.Either<boolean, string> => {
  if (where.ns !== DAV_NS) return Either.left(`unsupported operator ${where.local}`)
  const operands = where.children.filter(isElement)
  switch (where.local) {
    case "and":
    case "or": {
      let result = where.local === "and"
      for (const operand of operands) {
        const v = evaluate(c, operand)
        if (Either.isLeft(v)) return v
        result = where.local === "and" ? result && v.right : result || v.right
      }
      return Either.right(result)
    }
    case "not": {
      const operand = operands[0]
      return operand === undefined ? Either.left("not without operand") : Either.map(evaluate(c, operand), (v) => !v)
    }
    case "is-collection":
      return Either.right(c.node.kind === "dir")
    case "like":
    case "eq":
    case "gt":
    case "lt":
    case "gte":
    case "lte": {
      const value = propValue(c, childNamed(where, DAV_NS, "prop"))
      const literalElement = childNamed(where, DAV_NS, "literal")
      if (literalElement === undefined) return Either.left(`${where.local} without literal`)
      const literal = textOf(literalElement)
      if (value === null) return Either.right(false)
      if (where.local === "like") return Either.right(likeMatches(literal, String(value)))
      if (where.local === "eq") return Either.right(String(value).toLowerCase() === literal.toLowerCase())
      const n = typeof value === "number" ? value : Number.NaN
      const l = Number(literal)
      return Either.right(
        where.local === "gt" ? n > l : where.local === "lt" ? n < l : where.local === "gte" ? n >= l : n <= l
      )
    }
    default:
      return Either.left(`unsupported operator ${where.local}`)
  }
}

const search = (state: DavState, request: HttpServerRequest.HttpServerRequest, userId: string) =>
  Effect.gen(function* () {
    const bad = (text: string) => sabreError(400, "BadRequest", text)
    const body = yield* Effect.orElseSucceed(request.text, () => "")
    const parsed = parseXml(body)
    if (Either.isLeft(parsed)) return bad(`Invalid search request: ${parsed.left}`)
    const basic = childNamed(parsed.right, DAV_NS, "basicsearch")
    if (parsed.right.ns !== DAV_NS || parsed.right.local !== "searchrequest" || basic === undefined) {
      return sabreError(415, "UnsupportedMediaType", "Unsupported search request")
    }
    const scopeElement = childNamed(childNamed(basic, DAV_NS, "from") ?? basic, DAV_NS, "scope")
    const href = scopeElement === undefined ? undefined : childNamed(scopeElement, DAV_NS, "href")
    if (href === undefined) return bad("A search needs a scope")
    const scopePath = parseDavPath(`${DAV_PREFIX}${textOf(href).trim().replace(/^\/?files\//, "")}`)
    if (scopePath === null || !textOf(href).trim().replace(/^\//, "").startsWith("files/")) return bad("Invalid scope")
    if (scopePath.userId !== userId) return sabreError(403, "Forbidden", "The scope is not in your files")
    const depthText = scopeElement === undefined ? undefined : childNamed(scopeElement, DAV_NS, "depth")
    const infinite = depthText === undefined || textOf(depthText).trim().toLowerCase() === "infinity"
    const at = yield* now(state.sim)
    const files = userFiles(state, userId, at)
    const scopeNode = files.get(key(scopePath.segments))
    if (scopeNode === undefined || scopeNode.kind !== "dir") return notFound(scopePath.segments)
    const prefix = scopePath.segments.length === 0 ? "" : `${key(scopePath.segments)}/`
    const candidates: Array<Candidate> = []
    for (const [k, node] of files) {
      if (k === "" || !k.startsWith(prefix) || k === key(scopePath.segments)) continue
      if (!infinite && k.slice(prefix.length).includes("/")) continue
      candidates.push({ segments: k.split("/"), node })
    }
    const whereElement = childNamed(basic, DAV_NS, "where")
    const condition = whereElement?.children.find(isElement)
    const hits: Array<Candidate> = []
    for (const c of candidates) {
      const ok = condition === undefined ? Either.right(true) : evaluate(c, condition)
      if (Either.isLeft(ok)) return bad(ok.left)
      if (ok.right) hits.push(c)
    }
    // Ordered by the first orderby property (displayname: by name), then by path.
    const order = childNamed(childNamed(basic, DAV_NS, "orderby") ?? basic, DAV_NS, "order")
    const descending = order !== undefined && childNamed(order, DAV_NS, "descending") !== undefined
    const byProp = order === undefined ? undefined : childNamed(order, DAV_NS, "prop")
    hits.sort((a, b) => {
      const va = byProp === undefined ? null : propValue(a, byProp)
      const vb = byProp === undefined ? null : propValue(b, byProp)
      const primary =
        va === null || vb === null ? 0 : typeof va === "number" && typeof vb === "number" ? va - vb : String(va).localeCompare(String(vb))
      const path = key(a.segments) < key(b.segments) ? -1 : key(a.segments) > key(b.segments) ? 1 : 0
      return (descending ? -primary : primary) || path
    })
    const limit = childNamed(basic, DAV_NS, "limit")
    const nresults = limit === undefined ? undefined : childNamed(limit, DAV_NS, "nresults")
    const first = limit === undefined ? undefined : childNamed(limit, SEARCHDAV_NS, "firstresult")
    const count = nresults === undefined ? hits.length : Math.max(0, Number.parseInt(textOf(nresults), 10) || 0)
    const offset = first === undefined ? 0 : Math.max(0, Number.parseInt(textOf(first), 10) || 0)
    return multistatus(hits.slice(offset, offset + count).map((c) => responseXml(userId, c.segments, c.node, files)))
  })

/** Every request under `/remote.php/dav/files/`. */
export const davApp = (state: DavState) =>
  Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    const who = yield* davUser(state.sim, request)
    if (Either.isLeft(who)) return who.left
    const user = who.right
    const path = pathOf(request.url)
    if (path === DAV_ROOT || path === `${DAV_ROOT}/`) {
      if (request.method.toUpperCase() !== "SEARCH") {
        return sabreError(501, "NotImplemented", `There was no plugin in the system that was willing to handle this ${request.method} method.`)
      }
      return yield* search(state, request, user.userId)
    }
    const parsed = parseDavPath(path)
    if (parsed === null) return sabreError(400, "BadRequest", "Invalid path")
    if (parsed.userId !== user.userId) return sabreError(403, "Forbidden", "Principal mismatch: this is not your home")
    const at = yield* now(state.sim)
    const r: DavRequest = { request, ...parsed, files: userFiles(state, parsed.userId, at), at }
    switch (request.method.toUpperCase()) {
      case "PROPFIND":
        return propfind(r)
      case "GET":
        return get(r, false)
      case "HEAD":
        return get(r, true)
      case "PUT":
        return yield* put(state, r)
      case "MKCOL":
        return yield* mkcol(state, r)
      case "MOVE":
        return yield* transfer(state, r, "move")
      case "COPY":
        return yield* transfer(state, r, "copy")
      case "DELETE":
        return yield* remove(state, r)
      case "OPTIONS":
        return HttpServerResponse.empty({
          status: 200,
          headers: { DAV: "1, 3, extended-mkcol", Allow: "OPTIONS, GET, HEAD, DELETE, PROPFIND, PUT, MKCOL, MOVE, COPY, SEARCH" }
        })
      default:
        return sabreError(501, "NotImplemented", `There was no plugin in the system that was willing to handle this ${request.method} method.`)
    }
  })
