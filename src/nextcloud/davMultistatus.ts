/**
 * The PROPFIND answer (`207 Multi-Status`, RFC 4918 §14.16) as plain values.
 *
 * Hrefs are absolute paths (or, from some servers, absolute URLs) with each
 * segment percent-encoded; only their path counts (`returnedPath`: a host in
 * them is ignored, repeated slashes collapse), split and decoded here. Only properties in
 * a `propstat` with a 2xx status count: Nextcloud reports properties it does
 * not have for a resource (e.g. `getcontentlength` of a folder) in a separate
 * `404` propstat.
 */
import { Either } from "effect"
import { childNamed, childrenNamed, DAV_NS, parseXml, textOf, type XmlElement } from "./davXml.js"
import { returnedPath } from "./pinnedUrl.js"

export const OC_NS = "http://owncloud.org/ns"

export interface DavResource {
  /** The href as sent. */
  readonly href: string
  /** The href's path, split and percent-decoded (no empty segments). */
  readonly segments: ReadonlyArray<string>
  /**
   * Set when a segment's bytes are not UTF-8 (a name written by something
   * other than Nextcloud): `segments` then carries U+FFFD in its place and
   * cannot address the resource.
   */
  readonly undecodable?: boolean
  readonly isCollection: boolean
  /** Bytes: `getcontentlength` for files; for folders Nextcloud's `oc:size` when given. */
  readonly size: number | null
  /** `getlastmodified`, epoch milliseconds. */
  readonly modified: number | null
  /** Without quotes. */
  readonly etag: string | null
  /** As the server sent it (`"abc"`, `W/"abc"`), to be sent back as a precondition unchanged. */
  readonly rawEtag?: string | null
  readonly contentType: string | null
  readonly displayName: string | null
  /** Nextcloud's `oc:fileid`, when sent. */
  readonly fileId?: string | null
}

/** `"abc"` → `abc`, `W/"abc"` → `abc`. */
export const unquoteEtag = (raw: string): string => {
  const trimmed = raw.trim().replace(/^W\//, "")
  return trimmed.length >= 2 && trimmed.startsWith('"') && trimmed.endsWith('"') ? trimmed.slice(1, -1) : trimmed
}

const statusOk = (status: XmlElement | undefined): boolean => {
  if (status === undefined) return true
  const m = /^\s*HTTP\/\d(?:\.\d)?\s+(\d{3})/.exec(textOf(status))
  return m !== null && m[1] !== undefined && m[1].startsWith("2")
}

const PERCENT = /%(?![0-9A-Fa-f]{2})/

/** Percent-decode one segment; bytes that are not UTF-8 become U+FFFD (`lossy`). Bad `%` syntax is a `Left`. */
export const decodeSegment = (raw: string): Either.Either<{ readonly text: string; readonly lossy: boolean }, string> => {
  if (PERCENT.test(raw)) return Either.left("an href has invalid percent-encoding")
  const exact = Either.try(() => decodeURIComponent(raw))
  if (Either.isRight(exact)) return Either.right({ text: exact.right, lossy: false })
  const bytes = Buffer.from(raw.replace(/%([0-9A-Fa-f]{2})|[^%]+/g, (m, hex: string | undefined) =>
    hex === undefined ? Buffer.from(m, "utf8").toString("latin1") : String.fromCharCode(Number.parseInt(hex, 16))
  ), "latin1")
  return Either.right({ text: new TextDecoder("utf-8", { fatal: false }).decode(bytes), lossy: true })
}

/** Split an href's path into decoded segments, and whether a segment was not UTF-8; `.` and `..` are refused, not resolved. */
export const hrefPath = (
  href: string
): Either.Either<{ readonly segments: ReadonlyArray<string>; readonly undecodable: boolean }, string> => {
  const returned = returnedPath(href)
  if (Either.isLeft(returned)) return Either.left("an href is not a URL or an absolute path")
  const segments: Array<string> = []
  let undecodable = false
  for (const raw of returned.right.path.split("/")) {
    if (raw === "") continue
    const decoded = decodeSegment(raw)
    if (Either.isLeft(decoded)) return Either.left(decoded.left)
    if (decoded.right.text === "." || decoded.right.text === "..") return Either.left("an href has a . or .. segment")
    undecodable ||= decoded.right.lossy
    segments.push(decoded.right.text)
  }
  return Either.right({ segments, undecodable })
}

/** Split an href's path into decoded segments; `.` and `..` are refused, not resolved; a segment that is not UTF-8 is refused. */
export const hrefSegments = (href: string): Either.Either<ReadonlyArray<string>, string> =>
  Either.flatMap(hrefPath(href), (path) =>
    path.undecodable ? Either.left("an href is not UTF-8") : Either.right(path.segments)
  )

/** The status code of a `HTTP/1.1 423 Locked` line; null when there is none. */
export const statusCodeOf = (element: XmlElement | undefined): number | null => {
  if (element === undefined) return null
  const m = /^\s*HTTP\/\d(?:\.\d)?\s+(\d{3})/.exec(textOf(element))
  return m === null || m[1] === undefined ? null : Number(m[1])
}

/**
 * The per-resource statuses of a multistatus that answers a DELETE, MOVE or
 * COPY (RFC 4918 §9.6.1, §9.9.4): each failed member with its status.
 */
export const parseStatusMultistatus = (
  body: string
): Either.Either<ReadonlyArray<{ readonly href: string; readonly segments: ReadonlyArray<string>; readonly status: number | null }>, string> => {
  const root = parseXml(body)
  if (Either.isLeft(root)) return Either.left(`not well-formed XML: ${root.left}`)
  if (root.right.ns !== DAV_NS || root.right.local !== "multistatus") return Either.left("the root element is not DAV: multistatus")
  const out: Array<{ href: string; segments: ReadonlyArray<string>; status: number | null }> = []
  for (const response of childrenNamed(root.right, DAV_NS, "response")) {
    const status = statusCodeOf(childNamed(response, DAV_NS, "status"))
    for (const hrefElement of childrenNamed(response, DAV_NS, "href")) {
      const href = textOf(hrefElement).trim()
      const path = hrefPath(href)
      out.push({ href, segments: Either.isRight(path) ? path.right.segments : [], status })
    }
  }
  return Either.right(out)
}

const intOrNull = (text: string | undefined): number | null => {
  if (text === undefined || !/^\s*\d+\s*$/.test(text)) return null
  const n = Number(text.trim())
  return Number.isSafeInteger(n) ? n : null
}

const nonEmpty = (text: string | undefined): string | null => {
  const t = text?.trim()
  return t === undefined || t === "" ? null : t
}

const resourceOf = (response: XmlElement): Either.Either<DavResource | null, string> => {
  const hrefElement = childNamed(response, DAV_NS, "href")
  if (hrefElement === undefined) return Either.left("a response has no href")
  const href = textOf(hrefElement).trim()
  const path = hrefPath(href)
  if (Either.isLeft(path)) return Either.left(path.left)
  // A response-level status (no propstat) reports the resource itself as failed.
  if (childrenNamed(response, DAV_NS, "propstat").length === 0) {
    return statusOk(childNamed(response, DAV_NS, "status")) ? Either.left("a response has neither propstat nor status") : Either.right(null)
  }
  const props = new Map<string, XmlElement>()
  for (const propstat of childrenNamed(response, DAV_NS, "propstat")) {
    if (!statusOk(childNamed(propstat, DAV_NS, "status"))) continue
    for (const prop of childrenNamed(propstat, DAV_NS, "prop")) {
      for (const child of prop.children) {
        if (typeof child !== "string") props.set(`${child.ns ?? ""} ${child.local}`, child)
      }
    }
  }
  const dav = (local: string) => props.get(`${DAV_NS} ${local}`)
  const text = (element: XmlElement | undefined) => (element === undefined ? undefined : textOf(element))
  const resourcetype = dav("resourcetype")
  const isCollection = resourcetype !== undefined && childNamed(resourcetype, DAV_NS, "collection") !== undefined
  const modifiedText = nonEmpty(text(dav("getlastmodified")))
  const modified = modifiedText === null ? null : Date.parse(modifiedText)
  const etag = nonEmpty(text(dav("getetag")))
  return Either.right({
    href,
    segments: path.right.segments,
    ...(path.right.undecodable ? { undecodable: true } : {}),
    isCollection,
    size: intOrNull(text(dav("getcontentlength"))) ?? (isCollection ? intOrNull(text(props.get(`${OC_NS} size`))) : null),
    modified: modified === null || Number.isNaN(modified) ? null : modified,
    etag: etag === null ? null : unquoteEtag(etag),
    rawEtag: etag,
    contentType: nonEmpty(text(dav("getcontenttype"))),
    displayName: nonEmpty(text(dav("displayname"))),
    fileId: nonEmpty(text(props.get(`${OC_NS} fileid`)))
  })
}

/** Every resource of a multistatus body, in document order. */
export const parseMultistatus = (body: string): Either.Either<ReadonlyArray<DavResource>, string> => {
  const root = parseXml(body)
  if (Either.isLeft(root)) return Either.left(`not well-formed XML: ${root.left}`)
  if (root.right.ns !== DAV_NS || root.right.local !== "multistatus") {
    return Either.left("the root element is not DAV: multistatus")
  }
  const resources: Array<DavResource> = []
  for (const response of childrenNamed(root.right, DAV_NS, "response")) {
    const resource = resourceOf(response)
    if (Either.isLeft(resource)) return Either.left(resource.left)
    if (resource.right !== null) resources.push(resource.right)
  }
  return Either.right(resources)
}
