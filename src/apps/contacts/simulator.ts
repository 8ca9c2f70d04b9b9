/**
 * CardDAV in the simulated Nextcloud, answering as Nextcloud's sabre/dav does:
 *
 * - `PROPFIND /remote.php/dav/` names the `current-user-principal`; the
 *   principal names its `addressbook-home-set` (and `calendar-home-set`).
 * - `/remote.php/dav/addressbooks/users/<uid>/` holds the `contacts` address
 *   book and the read-only system address book `z-server-generated--system`
 *   (one card per account); hooks add more. Writes to a read-only book: 403.
 * - PROPFIND (depth 0/1) answers the properties asked for, the ones it does
 *   not have in a 404 propstat; `current-user-privilege-set` tells read-only
 *   books apart.
 * - REPORT `addressbook-multiget` and `addressbook-query` (`prop-filter`,
 *   `text-match` with `contains` / `equals` / `starts-with` / `ends-with`,
 *   `i;unicode-casemap`, `negate-condition`, `test="anyof|allof"`, `limit`);
 *   another report: 403 `supported-report`.
 * - Cards are read in vCard 3.0 unless 4.0 is asked for (`Accept` on GET,
 *   `address-data` `version` in reports); a card stored in the other version
 *   is converted, with sabre/vobject's PRODID, as sabre does.
 * - PUT needs `Content-Type: text/vcard` (else 415) and a valid vCard 3.0 or
 *   4.0 (else 415); a card without UID gets one and one without FN gets it
 *   from N, ORG or EMAIL, and then no ETag is sent back (the data changed).
 *   `If-Match` / `If-None-Match` give 412.
 * - DELETE by name; a missing card is 404.
 */
import { createHash, randomUUID } from "node:crypto"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import ICAL from "ical.js"
import { Effect, Either, Schema } from "effect"
import { childNamed, childrenNamed, DAV_NS, parseXml, textOf, type XmlElement } from "../../nextcloud/davXml.js"
import { davUser, sabreError as davError } from "../../simulator/dav.js"
import { Empty, hook } from "../../simulator/hooks.js"
import { header } from "../../simulator/http.js"
import { pathOf } from "../../simulator/routeKeys.js"
import type { SimulatorApp } from "../../simulator/SimulatorApp.js"
import { now, type SimState, SimulatorHookError } from "../../simulator/state.js"
import { parseVCard, readFields } from "./vcard.js"

const CARDDAV_NS = "urn:ietf:params:xml:ns:carddav"
const CS_NS = "http://calendarserver.org/ns/"
const CALDAV_NS = "urn:ietf:params:xml:ns:caldav"
const DAV_ROOT = "/remote.php/dav"
const BOOKS_PREFIX = `${DAV_ROOT}/addressbooks/users/`
const PRINCIPALS_PREFIX = `${DAV_ROOT}/principals/users/`
export const SYSTEM_BOOK = "z-server-generated--system"
const SABRE_PRODID = "-//Sabre//Sabre VObject 4.5.6//EN"

interface StoredCard {
  body: string
  etag: string
  modified: number
}

interface Book {
  displayName: string
  readOnly: boolean
  cards: Map<string, StoredCard>
  ctag: number
}

interface CardDavState {
  readonly sim: SimState
  /** Address books per uid, by id. */
  readonly books: Map<string, Map<string, Book>>
  /** Users whose `addressbook-query` reports are refused (501), to exercise clients' fallbacks. */
  readonly queriesRefused: Set<string>
}

const freshEtag = (state: CardDavState): string =>
  createHash("md5").update(`card-${state.sim.nextId++}-${Math.random()}`).digest("hex")

const systemCard = (user: { userId: string; displayName: string; email: string | null }) =>
  [
    "BEGIN:VCARD",
    "VERSION:3.0",
    "PRODID:-//Sabre//Sabre VObject 4.5.6//EN",
    `UID:${user.userId}`,
    `FN:${user.displayName.replace(/[\\,;]/g, (c) => `\\${c}`)}`,
    `N:${user.displayName.replace(/[\\,;]/g, (c) => `\\${c}`)};;;;`,
    ...(user.email === null ? [] : [`EMAIL;TYPE=HOME:${user.email}`]),
    `CLOUD:${user.userId}@localhost`,
    "END:VCARD",
    ""
  ].join("\r\n")

const booksOf = (state: CardDavState, userId: string, at: number): Map<string, Book> => {
  let books = state.books.get(userId)
  if (books === undefined) {
    const system = new Map<string, StoredCard>()
    for (const user of state.sim.users.values()) {
      system.set(`${encodeURIComponent(user.userId)}.vcf`, { body: systemCard(user), etag: freshEtag(state), modified: at })
    }
    books = new Map([
      ["contacts", { displayName: "Contacts", readOnly: false, cards: new Map(), ctag: 1 }],
      [SYSTEM_BOOK, { displayName: "Accounts", readOnly: true, cards: system, ctag: 1 }]
    ])
    state.books.set(userId, books)
  }
  return books
}

// --- wire format -------------------------------------------------------------

const xmlText = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")

const sabreError = (status: number, exception: string, text: string, condition = "") =>
  davError(status, exception, text, { namespaces: `xmlns:card="${CARDDAV_NS}"`, condition })

const multistatus = (responses: ReadonlyArray<string>) =>
  HttpServerResponse.text(
    `<?xml version="1.0"?>\n<d:multistatus xmlns:d="DAV:" xmlns:s="http://sabredav.org/ns" xmlns:card="${CARDDAV_NS}" xmlns:cal="${CALDAV_NS}" xmlns:cs="${CS_NS}" xmlns:oc="http://owncloud.org/ns" xmlns:nc="http://nextcloud.org/ns">` +
      `${responses.join("")}</d:multistatus>\n`,
    { status: 207, contentType: "application/xml; charset=utf-8" }
  )

type PropName = { readonly ns: string; readonly local: string }
const propKey = (p: PropName) => `${p.ns} ${p.local}`
const PREFIX: Readonly<Record<string, string>> = {
  [DAV_NS]: "d",
  [CARDDAV_NS]: "card",
  [CALDAV_NS]: "cal",
  [CS_NS]: "cs",
  "http://owncloud.org/ns": "oc",
  "http://nextcloud.org/ns": "nc",
  "http://sabredav.org/ns": "s"
}

/** `<response>` with the requested properties: known ones in a 200 propstat, the others in a 404 one. */
const responseXml = (href: string, available: ReadonlyMap<string, string>, requested: ReadonlyArray<PropName> | null): string => {
  const found: Array<string> = []
  const missing: Array<string> = []
  const names = requested ?? [...available.keys()].map((k) => ({ ns: k.slice(0, k.lastIndexOf(" ")), local: k.slice(k.lastIndexOf(" ") + 1) }))
  for (const p of names) {
    const prefix = PREFIX[p.ns]
    const value = available.get(propKey(p))
    const open = prefix === undefined ? `<x:${p.local} xmlns:x="${xmlText(p.ns)}"` : `<${prefix}:${p.local}`
    const close = prefix === undefined ? `</x:${p.local}>` : `</${prefix}:${p.local}>`
    if (value === undefined) missing.push(`${open}/>`)
    else found.push(`${open}>${value}${close}`)
  }
  return (
    `<d:response><d:href>${xmlText(href)}</d:href>` +
    (found.length > 0 ? `<d:propstat><d:prop>${found.join("")}</d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat>` : "") +
    (missing.length > 0 ? `<d:propstat><d:prop>${missing.join("")}</d:prop><d:status>HTTP/1.1 404 Not Found</d:status></d:propstat>` : "") +
    "</d:response>"
  )
}

/** The properties a PROPFIND or REPORT body asks for (null: allprop / no body). */
const requestedProps = (root: XmlElement | null): ReadonlyArray<PropName> | null => {
  if (root === null) return null
  const propElement = childNamed(root, DAV_NS, "prop")
  if (propElement === undefined) return null
  return propElement.children.flatMap((c) => (typeof c === "string" ? [] : [{ ns: c.ns ?? "", local: c.local }]))
}

const enc = (s: string) => encodeURIComponent(s)
const homeHref = (userId: string) => `${BOOKS_PREFIX}${enc(userId)}/`
const bookHref = (userId: string, bookId: string) => `${homeHref(userId)}${enc(bookId)}/`
const cardHref = (userId: string, bookId: string, name: string) => `${bookHref(userId, bookId)}${enc(name)}`

const privileges = (readOnly: boolean) =>
  (readOnly ? ["read", "read-acl", "read-current-user-privilege-set"] : ["write", "write-properties", "write-content", "unbind", "bind", "read", "read-acl", "read-current-user-privilege-set"])
    .map((p) => `<d:privilege><d:${p}/></d:privilege>`)
    .join("")

// --- vCard versions (sabre/vobject's VCardConverter, for what this product reads) ----------

const versionOf = (body: string): string | null => /^VERSION:\s*([0-9.]+)\s*$/im.exec(body)?.[1] ?? null

/** The card as a client asking for `target` gets it: unchanged in its own version, else converted. */
export const convertCard = (body: string, target: "3.0" | "4.0"): string => {
  if (versionOf(body) === target) return body
  type J = [string, Record<string, unknown>, string, ...Array<unknown>]
  let parsed: [string, Array<J>, Array<unknown>]
  try {
    parsed = ICAL.parse(body) as unknown as [string, Array<J>, Array<unknown>]
  } catch {
    return body
  }
  const props: Array<J> = [
    ["version", {}, "text", target],
    ["prodid", {}, "text", SABRE_PRODID]
  ]
  for (const p of parsed[1]) {
    if (p[0] === "version" || p[0] === "prodid") continue
    const params = { ...p[1] }
    let type = p[2]
    let values = p.slice(3)
    if (p[0] === "bday" || p[0] === "anniversary") {
      const value = String(values[0] ?? "")
      if (target === "3.0" && /^--/.test(value)) {
        const m = /^--(\d{2})-?(\d{2})/.exec(value)
        if (m !== null) {
          values = [`1604-${m[1]}-${m[2]}`]
          params["x-apple-omit-year"] = "1604"
          type = "date"
        }
      } else if (target === "4.0") {
        const omit = params["x-apple-omit-year"]
        delete params["x-apple-omit-year"]
        const m = /^(\d{4})-?(\d{2})-?(\d{2})/.exec(value)
        if (m !== null) {
          values = [typeof omit === "string" && omit === m[1] ? `--${m[2]}-${m[3]}` : `${m[1]}-${m[2]}-${m[3]}`]
          type = "date-and-or-time"
        }
      }
    }
    if (type === "phone-number" && target === "4.0") type = "text"
    props.push([p[0], params, type, ...values])
  }
  return `${ICAL.stringify(["vcard", props, []] as never)}\r\n`.replace(/\r\n\r\n$/, "\r\n")
}

// --- validation (sabre's validateVCard with REPAIR) -------------------------------------

type Validated = { readonly ok: true; readonly body: string; readonly repaired: boolean } | { readonly ok: false; readonly message: string }

const validate = (body: string): Validated => {
  const card = parseVCard(body)
  if (Either.isLeft(card)) return { ok: false, message: `This resource only supports valid vCard or jCard data. Parse error: ${card.left}` }
  try {
    ICAL.parse(body)
  } catch (e) {
    return { ok: false, message: `This resource only supports valid vCard or jCard data. Parse error: ${String(e)}` }
  }
  const version = card.right.version
  if (version !== "3.0" && version !== "4.0") {
    return { ok: false, message: "Validation error in vCard: Only vcard version 4.0 (RFC6350), version 3.0 (RFC2426) or version 2.1 (icm-vcard-2.1) are supported." }
  }
  const names = card.right.lines.map((l) => l.name)
  for (const once of ["BDAY", "N", "UID", "REV", "KIND", "GENDER", "PRODID", "ANNIVERSARY"]) {
    if (names.filter((n) => n === once).length > 1) {
      return { ok: false, message: `Validation error in vCard: ${once} MUST NOT appear more than once in a VCARD component` }
    }
  }
  let out = body
  let repaired = false
  const end = /END:VCARD\s*$/i
  if (!names.includes("UID")) {
    out = out.replace(end, `UID:${randomUUID()}\r\nEND:VCARD\r\n`)
    repaired = true
  }
  if (names.filter((n) => n === "FN").length !== 1) {
    const fields = readFields(card.right)
    const fallback = fields.full_name ?? fields.org ?? fields.emails[0] ?? null
    if (names.includes("FN") || fallback === null) {
      return { ok: false, message: "Validation error in vCard: The FN property must appear in the VCARD component exactly 1 time" }
    }
    out = out.replace(end, `FN:${fallback.replace(/[\\,;]/g, (c) => `\\${c}`).replace(/\n/g, "\\n")}\r\nEND:VCARD\r\n`)
    repaired = true
  }
  return { ok: true, body: out, repaired }
}

// --- addressbook-query --------------------------------------------------------

const casemap = (s: string) => s.normalize("NFKC").toLowerCase()

const textMatches = (value: string, match: XmlElement): boolean => {
  const wanted = textOf(match)
  const collation = attr(match, "collation") ?? "i;unicode-casemap"
  const type = attr(match, "match-type") ?? "contains"
  const negate = attr(match, "negate-condition") === "yes"
  const [v, w] = collation === "i;octet" ? [value, wanted] : [casemap(value), casemap(wanted)]
  const hit =
    type === "equals" ? v === w : type === "starts-with" ? v.startsWith(w) : type === "ends-with" ? v.endsWith(w) : v.includes(w)
  return negate ? !hit : hit
}

// davXml keeps no attributes; the query body is read again for them (see `attributesOf`).
const ATTRIBUTES = new WeakMap<XmlElement, Record<string, string>>()
const attr = (element: XmlElement, name: string): string | undefined => ATTRIBUTES.get(element)?.[name]

/** Attributes of the elements named `local`, in document order, read from the raw body. */
const attributesOf = (body: string, local: string): Array<Record<string, string>> => {
  const out: Array<Record<string, string>> = []
  const tag = new RegExp(`<(?:[A-Za-z0-9_-]+:)?${local}\\b([^>]*)>`, "g")
  for (let m = tag.exec(body); m !== null; m = tag.exec(body)) {
    const attrs: Record<string, string> = {}
    const a = /([A-Za-z-]+)\s*=\s*("([^"]*)"|'([^']*)')/g
    for (let x = a.exec(m[1] ?? ""); x !== null; x = a.exec(m[1] ?? "")) attrs[x[1] ?? ""] = x[3] ?? x[4] ?? ""
    out.push(attrs)
  }
  return out
}

const collect = (root: XmlElement, ns: string, local: string): Array<XmlElement> => {
  const out: Array<XmlElement> = []
  const pending: Array<XmlElement> = [root]
  for (let e = pending.shift(); e !== undefined; e = pending.shift()) {
    if (e.ns === ns && e.local === local) out.push(e)
    for (const c of e.children) if (typeof c !== "string") pending.push(c)
  }
  return out
}

/** Whether a card passes the query's filter (RFC 6352 §10.5). */
const passes = (body: string, filter: XmlElement | undefined): boolean => {
  if (filter === undefined) return true
  const propFilters = childrenNamed(filter, CARDDAV_NS, "prop-filter")
  if (propFilters.length === 0) return true
  const card = parseVCard(body)
  if (Either.isLeft(card)) return false
  const valuesOf = (name: string): Array<string> => {
    const upper = name.toUpperCase()
    return card.right.lines
      .filter((l) => l.name === upper)
      .map((l) => {
        const parsed = (() => {
          try {
            return ICAL.parse.property(l.text, (ICAL.design as unknown as Record<string, never>)[card.right.version === "4.0" ? "vcard" : "vcard3"]) as unknown as Array<unknown>
          } catch {
            return null
          }
        })()
        if (parsed === null) return ""
        const flat = (v: unknown): string => (Array.isArray(v) ? v.map(flat).join(";") : String(v ?? ""))
        return parsed.slice(3).map(flat).join(",")
      })
  }
  const results = propFilters.map((pf) => {
    const name = attr(pf, "name") ?? ""
    const values = valuesOf(name)
    if (childNamed(pf, CARDDAV_NS, "is-not-defined") !== undefined) return values.length === 0
    const matches = childrenNamed(pf, CARDDAV_NS, "text-match")
    if (matches.length === 0) return values.length > 0
    const allof = attr(pf, "test") === "allof"
    const each = matches.map((m) => values.some((v) => textMatches(v, m)))
    return allof ? each.every(Boolean) : each.some(Boolean)
  })
  return attr(filter, "test") === "allof" ? results.every(Boolean) : results.some(Boolean)
}

// --- requests -----------------------------------------------------------------

interface Ctx {
  readonly state: CardDavState
  readonly request: HttpServerRequest.HttpServerRequest
  readonly userId: string
  readonly at: number
}

const bookProps = (userId: string, id: string, book: Book): Map<string, string> =>
  new Map([
    [`${DAV_NS} resourcetype`, "<d:collection/><card:addressbook/>"],
    [`${DAV_NS} displayname`, xmlText(book.displayName)],
    [`${CS_NS} getctag`, String(book.ctag)],
    [`${DAV_NS} sync-token`, `http://sabre.io/ns/sync/${book.ctag}`],
    [`${DAV_NS} current-user-privilege-set`, privileges(book.readOnly)],
    [`${DAV_NS} owner`, `<d:href>${PRINCIPALS_PREFIX}${enc(userId)}/</d:href>`],
    [`${CARDDAV_NS} supported-address-data`, '<card:address-data-type content-type="text/vcard" version="3.0"/><card:address-data-type content-type="text/vcard" version="4.0"/>']
  ])

const cardProps = (card: StoredCard, addressData: string | null): Map<string, string> => {
  const props = new Map([
    [`${DAV_NS} resourcetype`, ""],
    [`${DAV_NS} getetag`, `&quot;${card.etag}&quot;`],
    [`${DAV_NS} getcontenttype`, "text/vcard; charset=utf-8"],
    [`${DAV_NS} getcontentlength`, String(Buffer.byteLength(card.body))],
    [`${DAV_NS} getlastmodified`, new Date(card.modified).toUTCString()]
  ])
  if (addressData !== null) props.set(`${CARDDAV_NS} address-data`, xmlText(addressData))
  return props
}

const readBody = (request: HttpServerRequest.HttpServerRequest) => Effect.orElseSucceed(request.text, () => "")

const parseBody = (text: string): Either.Either<XmlElement | null, string> =>
  text.trim() === "" ? Either.right(null) : parseXml(text)

const targetVersion = (text: string): "3.0" | "4.0" => {
  const data = attributesOf(text, "address-data")[0]
  return data?.["version"] === "4.0" ? "4.0" : "3.0"
}

const principalProps = (userId: string): Map<string, string> =>
  new Map([
    [`${DAV_NS} resourcetype`, "<d:principal/>"],
    [`${DAV_NS} current-user-principal`, `<d:href>${PRINCIPALS_PREFIX}${enc(userId)}/</d:href>`],
    [`${DAV_NS} principal-URL`, `<d:href>${PRINCIPALS_PREFIX}${enc(userId)}/</d:href>`],
    [`${CARDDAV_NS} addressbook-home-set`, `<d:href>${homeHref(userId)}</d:href>`],
    [`${CALDAV_NS} calendar-home-set`, `<d:href>${DAV_ROOT}/calendars/${enc(userId)}/</d:href>`],
    [`${DAV_NS} displayname`, xmlText(userId)]
  ])

const segmentsOf = (path: string, prefix: string): Array<string> | null => {
  const out: Array<string> = []
  for (const raw of path.slice(prefix.length).split("/")) {
    if (raw === "") continue
    const decoded = Either.try(() => decodeURIComponent(raw))
    if (Either.isLeft(decoded) || decoded.right === "." || decoded.right === "..") return null
    out.push(decoded.right)
  }
  return out
}

const principalRequest = (ctx: Ctx, path: string) =>
  Effect.gen(function* () {
    if (ctx.request.method.toUpperCase() !== "PROPFIND") {
      return sabreError(501, "NotImplemented", `There was no plugin in the system that was willing to handle this ${ctx.request.method} method.`)
    }
    const body = parseBody(yield* readBody(ctx.request))
    if (Either.isLeft(body)) return sabreError(400, "BadRequest", "The request body is not valid XML")
    const requested = requestedProps(body.right)
    if (path === DAV_ROOT || path === `${DAV_ROOT}/`) {
      return multistatus([responseXml(`${DAV_ROOT}/`, new Map([[`${DAV_NS} resourcetype`, "<d:collection/>"], [`${DAV_NS} current-user-principal`, `<d:href>${PRINCIPALS_PREFIX}${enc(ctx.userId)}/</d:href>`]]), requested)])
    }
    const segments = segmentsOf(path, PRINCIPALS_PREFIX)
    if (segments === null || segments.length !== 1 || segments[0] !== ctx.userId) {
      return sabreError(404, "NotFound", "Principal not found")
    }
    return multistatus([responseXml(`${PRINCIPALS_PREFIX}${enc(ctx.userId)}/`, principalProps(ctx.userId), requested)])
  })

const bookRequest = (ctx: Ctx, path: string) =>
  Effect.gen(function* () {
    const segments = segmentsOf(path, BOOKS_PREFIX)
    if (segments === null) return sabreError(400, "BadRequest", "Invalid path")
    const [userId, bookId, name, ...rest] = segments
    if (userId === undefined) return sabreError(404, "NotFound", "Node with name 'users' could not be found")
    if (userId !== ctx.userId) return sabreError(404, "NotFound", `Node with name '${userId}' could not be found`)
    if (rest.length > 0) return sabreError(404, "NotFound", "Node not found")
    const books = booksOf(ctx.state, userId, ctx.at)
    const book = bookId === undefined ? undefined : books.get(bookId)
    if (bookId !== undefined && book === undefined) return sabreError(404, "NotFound", `Node with name '${bookId}' could not be found`)
    const card = name === undefined || book === undefined ? undefined : book.cards.get(name)
    const method = ctx.request.method.toUpperCase()
    const text = yield* readBody(ctx.request)

    if (method === "PROPFIND") {
      const body = parseBody(text)
      if (Either.isLeft(body)) return sabreError(400, "BadRequest", "The request body is not valid XML")
      const requested = requestedProps(body.right)
      const depth = (header(ctx.request, "depth") ?? "1").trim()
      const wantsData = requested?.some((p) => p.ns === CARDDAV_NS && p.local === "address-data") === true
      if (bookId === undefined) {
        const responses = [responseXml(homeHref(userId), new Map([[`${DAV_NS} resourcetype`, "<d:collection/>"]]), requested)]
        if (depth !== "0") for (const [id, b] of books) responses.push(responseXml(bookHref(userId, id), bookProps(userId, id, b), requested))
        return multistatus(responses)
      }
      if (book === undefined) return sabreError(404, "NotFound", "not found")
      if (name !== undefined) {
        if (card === undefined) return sabreError(404, "NotFound", `Card ${name} not found`)
        return multistatus([responseXml(cardHref(userId, bookId, name), cardProps(card, wantsData ? convertCard(card.body, "3.0") : null), requested)])
      }
      const responses = [responseXml(bookHref(userId, bookId), bookProps(userId, bookId, book), requested)]
      if (depth !== "0") {
        for (const [n, c] of book.cards) responses.push(responseXml(cardHref(userId, bookId, n), cardProps(c, wantsData ? convertCard(c.body, "3.0") : null), requested))
      }
      return multistatus(responses)
    }

    if (method === "REPORT") {
      if (book === undefined || bookId === undefined) {
        return sabreError(403, "ReportNotSupported", "The {urn:ietf:params:xml:ns:carddav}addressbook-query report is not supported on this url", "  <d:supported-report/>\n")
      }
      const body = parseBody(text)
      if (Either.isLeft(body) || body.right === null) return sabreError(400, "BadRequest", "The request body is not valid XML")
      const root = body.right
      // Attributes (name, match-type, test, version) are read from the raw body in document order.
      for (const [local, elements] of [
        ["prop-filter", collect(root, CARDDAV_NS, "prop-filter")],
        ["text-match", collect(root, CARDDAV_NS, "text-match")],
        ["filter", collect(root, CARDDAV_NS, "filter")]
      ] as const) {
        const attrs = attributesOf(text, local)
        elements.forEach((e, i) => ATTRIBUTES.set(e, attrs[i] ?? {}))
      }
      const requested = requestedProps(root)
      const version = targetVersion(text)
      const wantsData = requested?.some((p) => p.ns === CARDDAV_NS && p.local === "address-data") === true
      const answer = (n: string, c: StoredCard) =>
        responseXml(cardHref(userId, bookId, n), cardProps(c, wantsData ? convertCard(c.body, version) : null), requested)
      if (root.ns === CARDDAV_NS && root.local === "addressbook-multiget") {
        const responses = childrenNamed(root, DAV_NS, "href").map((h) => {
          const href = textOf(h).trim()
          const hrefPath = Either.getOrElse(Either.try(() => new URL(href, "http://x").pathname), () => href)
          const wanted = segmentsOf(hrefPath, BOOKS_PREFIX)
          const c = wanted?.[2] === undefined || wanted[1] !== bookId ? undefined : book.cards.get(wanted[2])
          return c === undefined || wanted?.[2] === undefined
            ? `<d:response><d:href>${xmlText(href)}</d:href><d:status>HTTP/1.1 404 Not Found</d:status></d:response>`
            : answer(wanted[2], c)
        })
        return multistatus(responses)
      }
      if (root.ns === CARDDAV_NS && root.local === "addressbook-query") {
        if (ctx.state.queriesRefused.has(userId)) {
          return sabreError(501, "NotImplemented", "addressbook-query is not supported here")
        }
        const filter = childNamed(root, CARDDAV_NS, "filter")
        const limitElement = childNamed(root, CARDDAV_NS, "limit")
        const nresults = limitElement === undefined ? undefined : childNamed(limitElement, CARDDAV_NS, "nresults")
        const limit = nresults === undefined ? null : Number(textOf(nresults).trim())
        const hits: Array<string> = []
        for (const [n, c] of book.cards) {
          if (!passes(c.body, filter)) continue
          hits.push(answer(n, c))
          if (limit !== null && hits.length >= limit) break
        }
        return multistatus(hits)
      }
      return sabreError(403, "ReportNotSupported", "This report is not supported", "  <d:supported-report/>\n")
    }

    if (book === undefined || bookId === undefined || name === undefined) {
      if (method === "GET") return HttpServerResponse.html("<!DOCTYPE html><html><body>This is the WebDAV interface.</body></html>")
      return sabreError(405, "MethodNotAllowed", `Method ${method} is not allowed on this collection`)
    }

    if (method === "GET" || method === "HEAD") {
      if (card === undefined) return sabreError(404, "NotFound", `Card ${name} not found`)
      const accept = header(ctx.request, "accept") ?? ""
      const data = convertCard(card.body, /version=4\.0/.test(accept) ? "4.0" : "3.0")
      return HttpServerResponse.text(method === "HEAD" ? "" : data, {
        contentType: "text/vcard; charset=utf-8",
        headers: { ETag: `"${card.etag}"`, "Last-Modified": new Date(card.modified).toUTCString() }
      })
    }

    const etagMatches = (value: string, etag: string) =>
      value.trim() === "*" || value.split(",").some((v) => v.trim().replace(/^W\//, "").replace(/^"(.*)"$/, "$1") === etag)
    const ifMatch = header(ctx.request, "if-match")
    const ifNoneMatch = header(ctx.request, "if-none-match")

    if (method === "PUT") {
      if (book.readOnly) return sabreError(403, "Forbidden", "Permission denied to write to this address book")
      if (ifMatch !== undefined && (card === undefined || !etagMatches(ifMatch, card.etag))) {
        return sabreError(412, "PreconditionFailed", "An If-Match header was specified, but none of the specified ETags matched.")
      }
      if (ifNoneMatch !== undefined && card !== undefined && etagMatches(ifNoneMatch, card.etag)) {
        return sabreError(412, "PreconditionFailed", "An If-None-Match header was specified, but the ETag matched (or * was specified).")
      }
      const contentType = (header(ctx.request, "content-type") ?? "").toLowerCase()
      if (!/^text\/(x-)?vcard\b/.test(contentType.trim())) {
        return sabreError(415, "UnsupportedMediaType", "This collection can only support vcard objects.")
      }
      const checked = validate(text)
      if (!checked.ok) return sabreError(415, "UnsupportedMediaType", checked.message)
      const etag = freshEtag(ctx.state)
      book.cards.set(name, { body: checked.body, etag, modified: ctx.at })
      book.ctag++
      return HttpServerResponse.empty({ status: card === undefined ? 201 : 204, headers: checked.repaired ? {} : { ETag: `"${etag}"` } })
    }

    if (method === "DELETE") {
      if (card === undefined) return sabreError(404, "NotFound", `Card ${name} not found`)
      if (book.readOnly) return sabreError(403, "Forbidden", "Permission denied to delete from this address book")
      if (ifMatch !== undefined && !etagMatches(ifMatch, card.etag)) {
        return sabreError(412, "PreconditionFailed", "An If-Match header was specified, but none of the specified ETags matched.")
      }
      book.cards.delete(name)
      book.ctag++
      return HttpServerResponse.empty({ status: 204 })
    }
    return sabreError(501, "NotImplemented", `There was no plugin in the system that was willing to handle this ${method} method.`)
  })

const isCardDavPath = (path: string): boolean =>
  path === DAV_ROOT || path === `${DAV_ROOT}/` || path.startsWith(PRINCIPALS_PREFIX) || path.startsWith(BOOKS_PREFIX) || path === BOOKS_PREFIX.slice(0, -1)

const cardDavApp = (state: CardDavState) =>
  Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    const who = yield* davUser(state.sim, request)
    if (Either.isLeft(who)) return who.left
    const user = who.right
    const at = yield* now(state.sim)
    const path = pathOf(request.url)
    const ctx: Ctx = { state, request, userId: user.userId, at }
    return path.startsWith(BOOKS_PREFIX) ? yield* bookRequest(ctx, path) : yield* principalRequest(ctx, path)
  })

// --- hooks --------------------------------------------------------------------

export interface CardRecord {
  readonly name: string
  readonly body: string
  readonly etag: string
}

export interface ContactsControl {
  /** Store a card as is (no validation): what another client may have written. */
  readonly seedCard: (input: { readonly userId: string; readonly addressbookId: string; readonly name: string; readonly body: string }) => Effect.Effect<CardRecord, SimulatorHookError>
  /** A card exactly as stored. */
  readonly readCard: (input: { readonly userId: string; readonly addressbookId: string; readonly name: string }) => Effect.Effect<CardRecord, SimulatorHookError>
  readonly listCards: (input: { readonly userId: string; readonly addressbookId: string }) => Effect.Effect<ReadonlyArray<CardRecord>, SimulatorHookError>
  readonly addAddressBook: (input: { readonly userId: string; readonly addressbookId: string; readonly displayName: string; readonly readOnly: boolean }) => Effect.Effect<void, SimulatorHookError>
  /** Refuse (501) or answer this user's `addressbook-query` reports. */
  readonly refuseQueries: (input: { readonly userId: string; readonly refuse: boolean }) => Effect.Effect<void, SimulatorHookError>
}

const hookError = (reason: "UnknownUser" | "UnknownPath" | "InvalidRequest", message: string) => new SimulatorHookError({ reason, message })

const makeControl = (state: CardDavState): ContactsControl => {
  const booksFor = (userId: string) =>
    Effect.gen(function* () {
      if (!state.sim.users.has(userId)) return yield* hookError("UnknownUser", `No user with uid ${userId}`)
      return booksOf(state, userId, yield* now(state.sim))
    })
  const bookFor = (userId: string, id: string) =>
    Effect.flatMap(booksFor(userId), (books) => {
      const book = books.get(id)
      return book === undefined ? Effect.fail(hookError("UnknownPath", `No address book ${id}`)) : Effect.succeed(book)
    })
  return {
    seedCard: (input) =>
      Effect.gen(function* () {
        const book = yield* bookFor(input.userId, input.addressbookId)
        const etag = freshEtag(state)
        book.cards.set(input.name, { body: input.body, etag, modified: yield* now(state.sim) })
        book.ctag++
        return { name: input.name, body: input.body, etag }
      }),
    readCard: (input) =>
      Effect.gen(function* () {
        const book = yield* bookFor(input.userId, input.addressbookId)
        const card = book.cards.get(input.name)
        if (card === undefined) return yield* hookError("UnknownPath", `No card ${input.name}`)
        return { name: input.name, body: card.body, etag: card.etag }
      }),
    listCards: (input) =>
      Effect.map(bookFor(input.userId, input.addressbookId), (book) =>
        [...book.cards].map(([name, c]) => ({ name, body: c.body, etag: c.etag }))
      ),
    addAddressBook: (input) =>
      Effect.flatMap(booksFor(input.userId), (books) =>
        Effect.sync(() => {
          books.set(input.addressbookId, { displayName: input.displayName, readOnly: input.readOnly, cards: new Map(), ctag: 1 })
        })
      ),
    refuseQueries: (input) =>
      Effect.flatMap(booksFor(input.userId), () =>
        Effect.sync(() => {
          if (input.refuse) state.queriesRefused.add(input.userId)
          else state.queriesRefused.delete(input.userId)
        })
      )
  }
}

const CardBody = Schema.Struct({ userId: Schema.String, addressbookId: Schema.String, name: Schema.String, body: Schema.String })
const CardRefBody = Schema.Struct({ userId: Schema.String, addressbookId: Schema.String, name: Schema.String })
const BookBody = Schema.Struct({ userId: Schema.String, addressbookId: Schema.String, displayName: Schema.String, readOnly: Schema.Boolean })
const RefuseBody = Schema.Struct({ userId: Schema.String, refuse: Schema.Boolean })

const hookRoutes = (control: ContactsControl): HttpRouter.HttpRouter =>
  HttpRouter.empty.pipe(
    HttpRouter.post("/__sim/contacts/cards", hook(CardBody, (input) => control.seedCard(input), 201)),
    HttpRouter.post("/__sim/contacts/cards/read", hook(CardRefBody, (input) => control.readCard(input))),
    HttpRouter.get(
      "/__sim/users/:userId/addressbooks/:addressbookId/cards",
      hook(Empty, (_, params) => control.listCards({ userId: params["userId"] ?? "", addressbookId: params["addressbookId"] ?? "" }))
    ),
    HttpRouter.post("/__sim/contacts/addressbooks", hook(BookBody, (input) => control.addAddressBook(input), 201)),
    HttpRouter.post("/__sim/contacts/refuse-queries", hook(RefuseBody, (input) => control.refuseQueries(input)))
  )

const ROUTE_KEYS = ["carddav.principal", "carddav.propfind", "carddav.report", "carddav.get", "carddav.put", "carddav.delete", "carddav.other"] as const

const METHOD_KEYS: Readonly<Record<string, (typeof ROUTE_KEYS)[number]>> = {
  PROPFIND: "carddav.propfind",
  REPORT: "carddav.report",
  GET: "carddav.get",
  HEAD: "carddav.get",
  PUT: "carddav.put",
  DELETE: "carddav.delete"
}

export const contactsSimulator: SimulatorApp<ContactsControl> = {
  nextcloudApp: { id: "contacts", name: "Contacts" },
  routeKeys: ROUTE_KEYS,
  routeKey: (method, path) => {
    if (path.startsWith(BOOKS_PREFIX) || path === BOOKS_PREFIX.slice(0, -1)) return METHOD_KEYS[method] ?? "carddav.other"
    if (path === DAV_ROOT || path.startsWith(PRINCIPALS_PREFIX)) return "carddav.principal"
    return undefined
  },
  hookEndpoints: [
    "POST   /__sim/contacts/cards                   {userId, addressbookId, name, body} (stored as is)",
    "POST   /__sim/contacts/cards/read              {userId, addressbookId, name} -> {name, body, etag}",
    "GET    /__sim/users/{userId}/addressbooks/{addressbookId}/cards",
    "POST   /__sim/contacts/addressbooks            {userId, addressbookId, displayName, readOnly}",
    "POST   /__sim/contacts/refuse-queries          {userId, refuse} (addressbook-query: 501)"
  ],
  mount: (sim) => {
    const state: CardDavState = { sim, books: new Map(), queriesRefused: new Set() }
    const control = makeControl(state)
    return { routes: HttpRouter.empty, serves: { path: isCardDavPath, app: cardDavApp(state) }, hooks: hookRoutes(control), control }
  },
  remote: (call) => {
    const done = (): void => undefined
    return {
      seedCard: (input) => call("POST", "/contacts/cards", input),
      readCard: (input) => call("POST", "/contacts/cards/read", input),
      listCards: (input) => call("GET", `/users/${encodeURIComponent(input.userId)}/addressbooks/${encodeURIComponent(input.addressbookId)}/cards`),
      addAddressBook: (input) => call("POST", "/contacts/addressbooks", input).then(done),
      refuseQueries: (input) => call("POST", "/contacts/refuse-queries", input).then(done)
    }
  }
}
