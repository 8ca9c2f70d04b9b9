/**
 * Generic WebDAV object operations shared by CalDAV and CardDAV
 * (RFC 4918, RFC 4791, RFC 6352): PROPFIND and REPORT with any body, read
 * into plain responses with every property of a 2xx propstat; GET, PUT with
 * `If-Match` / `If-None-Match: *`, and DELETE of an object addressed by the
 * href the server gave it.
 *
 * Hrefs are reduced to their path (and query) and put on the configured
 * host's origin (`pinnedUrl`): an href is an absolute path that already
 * carries any sub-path prefix (`/nextcloud/remote.php/dav/…`), so resolving
 * it below the base would double that prefix, and a host inside it must not
 * count.
 *
 * ETags are kept exactly as the server sent them, weak prefix and quotes
 * included (`"abc"`, `W/"abc"`), and sent back the same way in `If-Match`:
 * sabre/dav compares them as strings. A bare value (`abc`) from a caller is
 * quoted before it is sent.
 */
import { type Headers, type HttpClient, HttpClientRequest, type HttpMethod } from "@effect/platform"
import { Effect, Either } from "effect"
import { makeCaller } from "./call.js"
import { childNamed, childrenNamed, DAV_NS, parseXml, textOf, type XmlElement } from "./davXml.js"
import { type DataCallError, expectStatus, NextcloudProtocolError } from "./errors.js"
import type { NextcloudConfigShape } from "./NextcloudConfig.js"
import type { Credentials } from "./Ocs.js"
import { pinnedUrl } from "./pinnedUrl.js"

export const CALDAV_NS = "urn:ietf:params:xml:ns:caldav"
export const CARDDAV_NS = "urn:ietf:params:xml:ns:carddav"
export const CALENDARSERVER_NS = "http://calendarserver.org/ns/"
export const APPLE_ICAL_NS = "http://apple.com/ns/ical/"

/** A property name: namespace URI and local name. */
export interface PropName {
  readonly ns: string
  readonly local: string
}

export const prop = (ns: string, local: string): PropName => ({ ns, local })

/** Text safe inside an XML element or a double-quoted attribute. */
export const xmlText = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => (c === "&" ? "&amp;" : c === "<" ? "&lt;" : c === ">" ? "&gt;" : c === '"' ? "&quot;" : "&apos;"))

/** One `<response>` of a multistatus. */
export interface DavResponse {
  /** The href as sent (trimmed). */
  readonly href: string
  /** The href's path and query on the configured origin. */
  readonly url: URL
  /** A response-level status (a response without propstat), e.g. 404 in a multiget; null when it has propstats. */
  readonly status: number | null
  /** Properties of the 2xx propstats, keyed by `propKey`. */
  readonly props: ReadonlyMap<string, XmlElement>
  /** `getetag` as sent, quotes and `W/` kept; null when absent. */
  readonly etag: string | null
}

export const propKey = (ns: string, local: string): string => `${ns} ${local}`

/** The text of a property, trimmed; null when absent or empty. */
export const propText = (response: DavResponse, ns: string, local: string): string | null => {
  const element = response.props.get(propKey(ns, local))
  if (element === undefined) return null
  const text = textOf(element).trim()
  return text === "" ? null : text
}

/** The text of a property exactly as sent (calendar-data, address-data); null when absent. */
export const propRawText = (response: DavResponse, ns: string, local: string): string | null => {
  const element = response.props.get(propKey(ns, local))
  return element === undefined ? null : textOf(element)
}

/** The hrefs inside a property (`current-user-principal`, `calendar-home-set`, …). */
export const propHrefs = (response: DavResponse, ns: string, local: string): ReadonlyArray<string> => {
  const element = response.props.get(propKey(ns, local))
  if (element === undefined) return []
  return childrenNamed(element, DAV_NS, "href")
    .map((h) => textOf(h).trim())
    .filter((h) => h !== "")
}

/** Whether `resourcetype` holds this element (`DAV: collection`, `caldav: calendar`, …). */
export const hasResourceType = (response: DavResponse, ns: string, local: string): boolean => {
  const element = response.props.get(propKey(DAV_NS, "resourcetype"))
  return element !== undefined && childNamed(element, ns, local) !== undefined
}

const statusCode = (status: XmlElement | undefined): number | null => {
  if (status === undefined) return null
  const m = /^\s*HTTP\/\d(?:\.\d)?\s+(\d{3})/.exec(textOf(status))
  return m === null ? null : Number(m[1])
}

/** Every response of a multistatus body, in document order, hrefs pinned on `origin`. */
export const parseDavMultistatus = (body: string, origin: URL): Either.Either<ReadonlyArray<DavResponse>, string> => {
  const root = parseXml(body)
  if (Either.isLeft(root)) return Either.left(`not well-formed XML: ${root.left}`)
  if (root.right.ns !== DAV_NS || root.right.local !== "multistatus") return Either.left("the root element is not DAV: multistatus")
  const out: Array<DavResponse> = []
  for (const response of childrenNamed(root.right, DAV_NS, "response")) {
    const hrefElement = childNamed(response, DAV_NS, "href")
    if (hrefElement === undefined) return Either.left("a response has no href")
    const href = textOf(hrefElement).trim()
    const url = pinnedUrl(origin, href)
    if (Either.isLeft(url)) return Either.left(`an href is unusable: ${url.left}`)
    const propstats = childrenNamed(response, DAV_NS, "propstat")
    const props = new Map<string, XmlElement>()
    for (const propstat of propstats) {
      const code = statusCode(childNamed(propstat, DAV_NS, "status"))
      if (code !== null && (code < 200 || code > 299)) continue
      for (const p of childrenNamed(propstat, DAV_NS, "prop")) {
        for (const child of p.children) {
          if (typeof child !== "string") props.set(propKey(child.ns ?? "", child.local), child)
        }
      }
    }
    const status = propstats.length === 0 ? statusCode(childNamed(response, DAV_NS, "status")) ?? 200 : null
    const etagElement = props.get(propKey(DAV_NS, "getetag"))
    const etag = etagElement === undefined ? null : textOf(etagElement).trim() || null
    out.push({ href, url: url.right, status, props, etag })
  }
  return Either.right(out)
}

/** A `<d:propfind>` body asking for these properties; namespaces get their own prefixes. */
export const propfindBody = (props: ReadonlyArray<PropName>): string => {
  const prefixes = new Map<string, string>([[DAV_NS, "d"]])
  for (const p of props) if (!prefixes.has(p.ns)) prefixes.set(p.ns, `x${prefixes.size}`)
  const declarations = [...prefixes].map(([ns, prefix]) => `xmlns:${prefix}="${xmlText(ns)}"`).join(" ")
  const names = props.map((p) => `<${prefixes.get(p.ns)}:${p.local}/>`).join("")
  return `<?xml version="1.0" encoding="UTF-8"?>\n<d:propfind ${declarations}><d:prop>${names}</d:prop></d:propfind>`
}

/** The value for `If-Match`: an etag as a server sent it goes back unchanged; a bare one is quoted. */
export const ifMatchValue = (etag: string): string => {
  const trimmed = etag.trim()
  return /^(W\/)?"[^"]*"$/.test(trimmed) ? trimmed : `"${trimmed.replace(/"/g, "")}"`
}

/** `W/"abc"` → `abc`: for comparing etags loosely (a caller may drop the quotes). */
export const etagOpaque = (etag: string): string => etag.trim().replace(/^W\//, "").replace(/^"(.*)"$/, "$1")

/** Whether two etags name the same version (quotes and the weak prefix aside). */
export const sameEtag = (a: string, b: string): boolean => etagOpaque(a) === etagOpaque(b)

/** A fetched object. */
export interface DavObject {
  readonly url: URL
  readonly body: string
  /** As sent (ETag header), null when absent. */
  readonly etag: string | null
  readonly contentType: string | null
}

/** What a PUT must find: the object at this etag, or nothing there at all. */
export type WritePrecondition = { readonly ifMatch: string } | { readonly ifNoneMatch: "*" } | null

export interface PutResult {
  /** 201: a new object. */
  readonly created: boolean
  /** The new etag when the server sent one (sabre/dav omits it when it changed the data). */
  readonly etag: string | null
}

const headerValue = (headers: Headers.Headers, name: string): string | null => {
  const value = headers[name]
  return value === undefined || value.trim() === "" ? null : value.trim()
}

const method = (name: string) => HttpClientRequest.make(name as HttpMethod.HttpMethod)

/** The DAV operations, over the shared transport; `operation` names each call in errors and logs. */
export const makeDavObjects = (client: HttpClient.HttpClient, config: NextcloudConfigShape) => {
  const nc = makeCaller(client, config)
  const origin = config.host
  const authed = (account: Credentials) => HttpClientRequest.basicAuth(account.loginName, account.appPassword)

  const multistatus = (
    operation: string,
    verb: "PROPFIND" | "REPORT",
    account: Credentials,
    url: URL,
    depth: "0" | "1" | "infinity",
    body: string
  ): Effect.Effect<ReadonlyArray<DavResponse>, DataCallError> =>
    Effect.gen(function* () {
      const request = method(verb)(url).pipe(
        authed(account),
        HttpClientRequest.setHeaders({ depth, accept: "application/xml, text/xml" }),
        HttpClientRequest.bodyText(body, "application/xml; charset=utf-8")
      )
      const answer = yield* nc.text(operation, request, { idempotent: true }).pipe(Effect.flatMap(expectStatus(operation, [207])))
      const parsed = parseDavMultistatus(answer.body, origin)
      if (Either.isLeft(parsed)) {
        return yield* new NextcloudProtocolError({ operation, status: answer.status, detail: `unexpected body: ${parsed.left}` })
      }
      return parsed.right
    })

  const propfind = (operation: string, account: Credentials, url: URL, depth: "0" | "1", props: ReadonlyArray<PropName>) =>
    multistatus(operation, "PROPFIND", account, url, depth, propfindBody(props))

  const report = (operation: string, account: Credentials, url: URL, depth: "0" | "1", body: string) =>
    multistatus(operation, "REPORT", account, url, depth, body)

  const get = (operation: string, account: Credentials, url: URL, accept: string): Effect.Effect<DavObject, DataCallError> =>
    nc
      .text(operation, HttpClientRequest.get(url).pipe(authed(account), HttpClientRequest.setHeader("accept", accept)), {
        idempotent: true
      })
      .pipe(
        Effect.flatMap(expectStatus(operation, [200])),
        Effect.map((answer) => ({
          url,
          body: answer.body,
          etag: headerValue(answer.headers, "etag"),
          contentType: headerValue(answer.headers, "content-type")
        }))
      )

  const put = (
    operation: string,
    account: Credentials,
    url: URL,
    body: string,
    contentType: string,
    precondition: WritePrecondition
  ): Effect.Effect<PutResult, DataCallError> => {
    let request = HttpClientRequest.put(url).pipe(authed(account), HttpClientRequest.bodyText(body, contentType))
    if (precondition !== null && "ifMatch" in precondition) {
      request = HttpClientRequest.setHeader(request, "if-match", ifMatchValue(precondition.ifMatch))
    } else if (precondition !== null) {
      request = HttpClientRequest.setHeader(request, "if-none-match", "*")
    }
    return nc.text(operation, request, { idempotent: false }).pipe(
      Effect.flatMap(expectStatus(operation, [200, 201, 204])),
      Effect.map((answer) => ({ created: answer.status === 201, etag: headerValue(answer.headers, "etag") }))
    )
  }

  const remove = (operation: string, account: Credentials, url: URL, ifMatch: string | null): Effect.Effect<void, DataCallError> => {
    let request = HttpClientRequest.del(url).pipe(authed(account))
    if (ifMatch !== null) request = HttpClientRequest.setHeader(request, "if-match", ifMatchValue(ifMatch))
    return nc.text(operation, request, { idempotent: false }).pipe(Effect.flatMap(expectStatus(operation, [200, 204])), Effect.asVoid)
  }

  /** An href the server gave, on the configured origin. */
  const urlOf = (operation: string, href: string): Effect.Effect<URL, NextcloudProtocolError> => {
    const url = pinnedUrl(origin, href)
    return Either.isLeft(url)
      ? Effect.fail(new NextcloudProtocolError({ operation, status: 0, detail: `unusable href: ${url.left}` }))
      : Effect.succeed(url.right)
  }

  return { propfind, report, get, put, remove, urlOf, origin } as const
}

export type DavObjects = ReturnType<typeof makeDavObjects>

/** Whether `url` lies strictly below the collection `collection` (same origin, path prefix). */
export const isBelow = (collection: URL, url: URL): boolean => {
  const base = collection.pathname.endsWith("/") ? collection.pathname : `${collection.pathname}/`
  return url.origin === collection.origin && url.pathname.startsWith(base) && url.pathname.length > base.length
}

/** The same collection? Trailing slashes and percent-encoding case aside. */
export const sameCollection = (a: URL, b: URL): boolean => {
  const norm = (u: URL) => {
    let path = u.pathname.replace(/\/+$/, "")
    try {
      path = decodeURIComponent(path)
    } catch {
      // keep as is
    }
    return `${u.origin}${path}`
  }
  return norm(a) === norm(b)
}

/**
 * A multiget REPORT body (`calendar-multiget`, RFC 4791 §7.9, or
 * `addressbook-multiget`, RFC 6352 §8.7) for these objects: their etag and
 * data. The hrefs are the objects' paths, as the server named them.
 */
export const multigetBody = (kind: "calendar" | "addressbook", urls: ReadonlyArray<URL>): string => {
  const [ns, report, data] =
    kind === "calendar" ? [CALDAV_NS, "calendar-multiget", "calendar-data"] : [CARDDAV_NS, "addressbook-multiget", "address-data"]
  const hrefs = urls.map((u) => `<d:href>${xmlText(u.pathname)}</d:href>`).join("")
  return `<?xml version="1.0" encoding="UTF-8"?>\n<x:${report} xmlns:d="DAV:" xmlns:x="${ns}"><d:prop><d:getetag/><x:${data}/></d:prop>${hrefs}</x:${report}>`
}
