/**
 * Address books and contacts over CardDAV (RFC 6352) on Nextcloud's
 * `/remote.php/dav/addressbooks/users/<uid>/`, found through the principal's
 * `addressbook-home-set` (src/nextcloud/davDiscovery.ts).
 *
 * - An address book is a collection of the home whose `resourcetype` holds
 *   `card:addressbook`; its id is its last path segment (`contacts`,
 *   `z-server-generated--system`). It is read-only when the server grants no
 *   write privilege on it (`current-user-privilege-set`), and Nextcloud's
 *   system address book always is.
 * - A contact is addressed by its address book and its own file name, taken
 *   from the href the server gave it; a card named anything other than
 *   `<uid>.vcf` is read, changed and deleted at that name.
 * - Search is an `addressbook-query` REPORT with `text-match` (contains,
 *   `i;unicode-casemap`) on FN, N, NICKNAME, EMAIL, TEL and ORG. A server
 *   that refuses the query is searched here instead, over at most
 *   `SCAN_LIMIT` cards per address book (`partial` says when that bound was
 *   reached).
 * - Cards are written as `text/vcard; charset=utf-8`, with `If-Match` on
 *   updates and `If-None-Match: *` on creates.
 * - sabre/dav (Nextcloud) answers a read with vCard 3.0 unless 4.0 is asked
 *   for, converting a card stored as 4.0. Such a conversion always carries
 *   sabre/vobject's own PRODID, so before a write a card carrying it is read
 *   again as 4.0: an answer without that PRODID is the stored card, which is
 *   then changed and written in its own version.
 */
import { HttpClient } from "@effect/platform"
import { Context, Effect, Layer } from "effect"
import { makeDavDiscovery } from "../../nextcloud/davDiscovery.js"
import {
  CARDDAV_NS,
  type DavResponse,
  hasResourceType,
  isBelow,
  makeDavObjects,
  multigetBody,
  prop,
  propRawText,
  propText,
  type PutResult,
  type WritePrecondition,
  xmlText
} from "../../nextcloud/davObjects.js"
import { DAV_NS } from "../../nextcloud/davXml.js"
import { type DataCallError, NextcloudProtocolError } from "../../nextcloud/errors.js"
import { NextcloudConfig } from "../../nextcloud/NextcloudConfig.js"
import type { DavAccount } from "../../nextcloud/Ocs.js"

/** Nextcloud's read-only address book of the instance's accounts. */
export const SYSTEM_ADDRESSBOOK = "z-server-generated--system"

/** Cards one fallback search reads per address book at most. */
export const SCAN_LIMIT = 2000
/** Hrefs per multiget request. */
export const MULTIGET_CHUNK = 100

export const VCARD_CONTENT_TYPE = "text/vcard; charset=utf-8"

export interface AddressBook {
  readonly id: string
  readonly name: string
  readonly readOnly: boolean
  readonly url: URL
}

export interface CardRef {
  readonly addressbookId: string
  /** The card's file name (its href's last segment, decoded). */
  readonly id: string
  readonly url: URL
  readonly etag: string | null
}

export interface Card extends CardRef {
  readonly body: string
}

export interface SearchHits {
  readonly refs: ReadonlyArray<CardRef>
  /** The server refused the query; `cards` holds the matches found here. */
  readonly cards: ReadonlyArray<Card> | null
  /** The fallback stopped at SCAN_LIMIT cards. */
  readonly partial: boolean
}

export interface CardDavShape {
  readonly addressBooks: (account: DavAccount) => Effect.Effect<ReadonlyArray<AddressBook>, DataCallError>
  /** An address book's URL from its id (no request). */
  readonly bookUrl: (account: DavAccount, addressbookId: string) => Effect.Effect<URL, DataCallError>
  /**
   * Cards whose name, email, phone or organisation contains `text`
   * (everything for ""). `match` is the local test the fallback applies.
   */
  readonly search: (
    account: DavAccount,
    book: { readonly id: string; readonly url: URL },
    text: string,
    match: (card: Card) => boolean
  ) => Effect.Effect<SearchHits, DataCallError>
  /** Cards by their URLs, in one request per MULTIGET_CHUNK; cards gone meanwhile are left out. */
  readonly multiget: (
    account: DavAccount,
    book: { readonly id: string; readonly url: URL },
    urls: ReadonlyArray<URL>
  ) => Effect.Effect<ReadonlyArray<Card>, DataCallError>
  /** One card (GET); `forWrite` reads it in the version it is stored in. */
  readonly get: (
    account: DavAccount,
    book: { readonly id: string; readonly url: URL },
    id: string,
    forWrite?: boolean
  ) => Effect.Effect<Card, DataCallError>
  readonly put: (
    account: DavAccount,
    book: { readonly id: string; readonly url: URL },
    id: string,
    body: string,
    precondition: WritePrecondition
  ) => Effect.Effect<PutResult, DataCallError>
  readonly remove: (
    account: DavAccount,
    book: { readonly id: string; readonly url: URL },
    id: string,
    ifMatch: string | null
  ) => Effect.Effect<void, DataCallError>
}

export class CardDav extends Context.Tag("nextcloud-mcp/CardDav")<CardDav, CardDavShape>() {}

const lastSegment = (url: URL): string => {
  const segments = url.pathname.split("/").filter((s) => s !== "")
  const last = segments[segments.length - 1] ?? ""
  try {
    return decodeURIComponent(last)
  } catch {
    return last
  }
}

const childUrl = (collection: URL, name: string, trailingSlash: boolean): URL => {
  const url = new URL(collection.href)
  const base = url.pathname.endsWith("/") ? url.pathname : `${url.pathname}/`
  url.pathname = `${base}${encodeURIComponent(name)}${trailingSlash ? "/" : ""}`
  url.search = ""
  return url
}

const WRITE_PRIVILEGES = ["all", "write", "write-content", "bind"]

const writable = (response: DavResponse): boolean | null => {
  const set = response.props.get(`${DAV_NS} current-user-privilege-set`)
  if (set === undefined) return null
  const names: Array<string> = []
  const pending = [...set.children]
  for (let node = pending.pop(); node !== undefined; node = pending.pop()) {
    if (typeof node === "string") continue
    if (node.ns === DAV_NS && node.local !== "privilege") names.push(node.local)
    pending.push(...node.children)
  }
  return names.some((n) => WRITE_PRIVILEGES.includes(n))
}

/** The properties an address book listing asks for. */
const BOOK_PROPS = [
  prop(DAV_NS, "resourcetype"),
  prop(DAV_NS, "displayname"),
  prop(DAV_NS, "current-user-privilege-set"),
  prop("http://owncloud.org/ns", "read-only")
]

/** Properties whose text a search matches. */
export const SEARCHED_PROPERTIES = ["FN", "N", "NICKNAME", "EMAIL", "TEL", "ORG"] as const

export const queryBody = (text: string): string => {
  const filters =
    text === ""
      ? ""
      : SEARCHED_PROPERTIES.map(
          (name) =>
            `<c:prop-filter name="${name}"><c:text-match collation="i;unicode-casemap" match-type="contains">${xmlText(text)}</c:text-match></c:prop-filter>`
        ).join("")
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<c:addressbook-query xmlns:d="DAV:" xmlns:c="${CARDDAV_NS}">` +
    `<d:prop><d:getetag/></d:prop><c:filter test="anyof">${filters}</c:filter></c:addressbook-query>`
  )
}

const SABRE_PRODID = /^PRODID:-\/\/Sabre\/\/Sabre VObject/im

/** Whether a card may be sabre/vobject's conversion rather than what is stored. */
export const mayBeConverted = (body: string): boolean => SABRE_PRODID.test(body)

const versionOf = (body: string): string | null => /^VERSION:\s*([0-9.]+)\s*$/im.exec(body)?.[1] ?? null

export const CardDavLive: Layer.Layer<CardDav, never, HttpClient.HttpClient | NextcloudConfig> = Layer.effect(
  CardDav,
  Effect.gen(function* () {
    const config = yield* NextcloudConfig
    const dav = makeDavObjects(yield* HttpClient.HttpClient, config)
    const discovery = makeDavDiscovery(dav)

    const home = (account: DavAccount) => discovery.homeSet(account, "addressbook")

    const addressBooks = Effect.fn("CardDav.addressBooks")(function* (account: DavAccount) {
      const operation = "CardDav.addressBooks"
      const root = yield* home(account)
      const responses = yield* dav.propfind(operation, account, root, "1", BOOK_PROPS)
      const books: Array<AddressBook> = []
      for (const response of responses) {
        if (response.status !== null || !hasResourceType(response, CARDDAV_NS, "addressbook")) continue
        if (!isBelow(root, response.url)) continue
        const id = lastSegment(response.url)
        const ocReadOnly = propText(response, "http://owncloud.org/ns", "read-only")
        const canWrite = writable(response)
        const readOnly = id === SYSTEM_ADDRESSBOOK || ocReadOnly === "1" || ocReadOnly === "true" || canWrite === false
        books.push({ id, name: propText(response, DAV_NS, "displayname") ?? id, readOnly, url: response.url })
      }
      return books
    })

    const bookUrl = (account: DavAccount, addressbookId: string) =>
      Effect.map(home(account), (root) => childUrl(root, addressbookId, true))

    const refOf = (book: { readonly id: string; readonly url: URL }, response: DavResponse): CardRef | null =>
      response.status !== null || !isBelow(book.url, response.url) || hasResourceType(response, DAV_NS, "collection")
        ? null
        : { addressbookId: book.id, id: lastSegment(response.url), url: response.url, etag: response.etag }

    const multiget = Effect.fn("CardDav.multiget")(function* (
      account: DavAccount,
      book: { readonly id: string; readonly url: URL },
      urls: ReadonlyArray<URL>
    ) {
      const operation = "CardDav.multiget"
      const cards: Array<Card> = []
      for (let i = 0; i < urls.length; i += MULTIGET_CHUNK) {
        const chunk = urls.slice(i, i + MULTIGET_CHUNK)
        const responses = yield* dav.report(operation, account, book.url, "1", multigetBody("addressbook", chunk))
        for (const response of responses) {
          const ref = refOf(book, response)
          const body = propRawText(response, CARDDAV_NS, "address-data")
          if (ref !== null && body !== null) cards.push({ ...ref, body })
        }
      }
      return cards
    })

    /** Every card of a book (PROPFIND depth 1), for the fallback search. */
    const listRefs = Effect.fn("CardDav.list")(function* (account: DavAccount, book: { readonly id: string; readonly url: URL }) {
      const responses = yield* dav.propfind("CardDav.list", account, book.url, "1", [prop(DAV_NS, "getetag"), prop(DAV_NS, "resourcetype")])
      return responses.flatMap((r) => {
        const ref = refOf(book, r)
        return ref === null ? [] : [ref]
      })
    })

    const refused = (error: DataCallError): boolean =>
      error._tag === "NextcloudForbidden" ||
      error._tag === "NextcloudNotAllowed" ||
      (error._tag === "NextcloudProtocolError" && [400, 415, 422, 500, 501].includes(error.status))

    const search = Effect.fn("CardDav.search")(function* (
      account: DavAccount,
      book: { readonly id: string; readonly url: URL },
      text: string,
      match: (card: Card) => boolean
    ) {
      const operation = "CardDav.search"
      const answer = yield* dav.report(operation, account, book.url, "1", queryBody(text)).pipe(
        Effect.map((responses) => ({ responses, refusedBy: null as DataCallError | null })),
        Effect.catchIf(refused, (error) => Effect.succeed({ responses: [] as ReadonlyArray<DavResponse>, refusedBy: error }))
      )
      if (answer.refusedBy === null) {
        const refs = answer.responses.flatMap((r) => {
          const ref = refOf(book, r)
          return ref === null ? [] : [ref]
        })
        return { refs, cards: null, partial: false } satisfies SearchHits
      }
      yield* Effect.logDebug("addressbook-query refused; searching here", { operation, refused: answer.refusedBy._tag })
      const all = yield* listRefs(account, book)
      const scanned = all.slice(0, SCAN_LIMIT)
      const cards = yield* multiget(
        account,
        book,
        scanned.map((r) => r.url)
      )
      const found = cards.filter(match)
      return { refs: found, cards: found, partial: all.length > SCAN_LIMIT } satisfies SearchHits
    })

    const get = Effect.fn("CardDav.get")(function* (
      account: DavAccount,
      book: { readonly id: string; readonly url: URL },
      id: string,
      forWrite = false
    ) {
      const operation = "CardDav.get"
      const url = childUrl(book.url, id, false)
      const first = yield* dav.get(operation, account, url, "text/vcard")
      let object = first
      if (forWrite && versionOf(first.body) !== "4.0" && mayBeConverted(first.body)) {
        const asV4 = yield* dav.get(operation, account, url, "text/vcard; version=4.0")
        if (versionOf(asV4.body) === "4.0" && !mayBeConverted(asV4.body)) object = asV4
      }
      return { addressbookId: book.id, id, url, etag: object.etag, body: object.body } satisfies Card
    })

    const put = (account: DavAccount, book: { readonly id: string; readonly url: URL }, id: string, body: string, precondition: WritePrecondition) =>
      dav.put("CardDav.put", account, childUrl(book.url, id, false), body, VCARD_CONTENT_TYPE, precondition)

    const remove = (account: DavAccount, book: { readonly id: string; readonly url: URL }, id: string, ifMatch: string | null) =>
      dav.remove("CardDav.remove", account, childUrl(book.url, id, false), ifMatch)

    return CardDav.of({ addressBooks, bookUrl, search, multiget, get, put, remove })
  })
)

/** A card's answer could not be read as a vCard. */
export const notAVCard = (operation: string, detail: string) => new NextcloudProtocolError({ operation, status: 200, detail })
