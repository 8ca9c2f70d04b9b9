/**
 * A CalDAV client (RFC 4791) on the shared DAV transport, for the calendar
 * and tasks tools: the user's calendars (found through the principal's
 * calendar-home-set), `calendar-query` REPORTs (by component, time range and
 * UID), and object writes addressed by the hrefs the server gave.
 *
 * New objects are named `<uid>.ics` when the UID is a plain token, else a
 * random name: the name is chosen here once, with `If-None-Match: *`. An
 * existing object is always found by a query and addressed by its own href,
 * never by guessing a name from its UID.
 */
import { randomUUID } from "node:crypto"
import { HttpClient } from "@effect/platform"
import { Context, Effect, Layer } from "effect"
import { makeDavDiscovery } from "./davDiscovery.js"
import {
  APPLE_ICAL_NS,
  CALDAV_NS,
  CALENDARSERVER_NS,
  type DavResponse,
  hasResourceType,
  isBelow,
  makeDavObjects,
  prop,
  propKey,
  propRawText,
  propText,
  xmlText
} from "./davObjects.js"
import { childrenNamed, DAV_NS, type XmlElement } from "./davXml.js"
import { type DataCallError, NextcloudNotFound } from "./errors.js"
import { NextcloudConfig } from "./NextcloudConfig.js"
import type { DavAccount } from "./Ocs.js"

export type ComponentType = "VEVENT" | "VTODO"

export interface Calendar {
  /** The collection's name in its URL (Nextcloud's calendar URI), decoded. */
  readonly id: string
  readonly url: URL
  readonly name: string
  /** Supported components; all three when the server does not restrict them. */
  readonly components: ReadonlyArray<string>
  readonly readOnly: boolean
  readonly color: string | null
  readonly timezone: string | null
}

export interface CalendarObject {
  readonly url: URL
  /** As the server sent it. */
  readonly etag: string | null
  readonly data: string
}

export interface TimeRange {
  readonly startMs: number
  readonly endMs: number
}

export interface CalDavShape {
  readonly calendars: (account: DavAccount) => Effect.Effect<ReadonlyArray<Calendar>, DataCallError>
  /** One calendar by id; `NextcloudNotFound` when there is none. */
  readonly calendar: (account: DavAccount, id: string) => Effect.Effect<Calendar, DataCallError>
  /** Objects of `calendar` with a component of `type` (in `range`, with `uid` when given). */
  readonly query: (
    account: DavAccount,
    calendar: Calendar,
    type: ComponentType,
    filter: { readonly range?: TimeRange; readonly uid?: string }
  ) => Effect.Effect<ReadonlyArray<CalendarObject>, DataCallError>
  readonly get: (account: DavAccount, url: URL) => Effect.Effect<CalendarObject, DataCallError>
  /** PUT a new object (`If-None-Match: *`); its URL and etag (read back when the server sends none). */
  readonly create: (account: DavAccount, calendar: Calendar, uid: string, data: string) => Effect.Effect<CalendarObject, DataCallError>
  /** PUT over an existing object, at `ifMatch` when given. */
  readonly update: (account: DavAccount, url: URL, data: string, ifMatch: string | null) => Effect.Effect<CalendarObject, DataCallError>
  readonly remove: (account: DavAccount, url: URL, ifMatch: string | null) => Effect.Effect<void, DataCallError>
}

export class CalDav extends Context.Tag("nextcloud-mcp/CalDav")<CalDav, CalDavShape>() {}

const ALL_COMPONENTS = ["VEVENT", "VTODO", "VJOURNAL"] as const

/** `20261224T170000Z` */
export const caldavUtc = (ms: number): string => new Date(ms).toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "")

export const calendarQueryBody = (type: ComponentType, filter: { readonly range?: TimeRange; readonly uid?: string }): string => {
  const range = filter.range === undefined ? "" : `<c:time-range start="${caldavUtc(filter.range.startMs)}" end="${caldavUtc(filter.range.endMs)}"/>`
  const uid =
    filter.uid === undefined ? "" : `<c:prop-filter name="UID"><c:text-match collation="i;octet">${xmlText(filter.uid)}</c:text-match></c:prop-filter>`
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<c:calendar-query xmlns:d="DAV:" xmlns:c="${CALDAV_NS}">` +
    `<d:prop><d:getetag/><c:calendar-data/></d:prop>` +
    `<c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="${type}">${range}${uid}</c:comp-filter></c:comp-filter></c:filter>` +
    `</c:calendar-query>`
  )
}

const WRITE_PRIVILEGES = new Set(["all", "write", "write-content"])

const readOnlyOf = (response: DavResponse): boolean => {
  const set = response.props.get(propKey(DAV_NS, "current-user-privilege-set"))
  if (set === undefined) return false
  const privileges = childrenNamed(set, DAV_NS, "privilege").flatMap((p) =>
    p.children.filter((c): c is XmlElement => typeof c !== "string" && c.ns === DAV_NS).map((c) => c.local)
  )
  return !privileges.some((p) => WRITE_PRIVILEGES.has(p))
}

const componentsOf = (response: DavResponse): ReadonlyArray<string> => {
  const set = response.props.get(propKey(CALDAV_NS, "supported-calendar-component-set"))
  if (set === undefined) return ALL_COMPONENTS
  const names = childrenNamed(set, CALDAV_NS, "comp").flatMap((c) => {
    const name = c.attributes?.["name"]
    return name === undefined ? [] : [name.toUpperCase()]
  })
  return names.length === 0 ? ALL_COMPONENTS : names
}

/** The last segment of a collection URL, decoded. */
export const collectionId = (url: URL): string => {
  const last = url.pathname.replace(/\/+$/, "").split("/").pop() ?? ""
  try {
    return decodeURIComponent(last)
  } catch {
    return last
  }
}

const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,150}$/

export const newObjectName = (uid: string): string => `${SAFE_NAME.test(uid) ? uid : randomUUID()}.ics`

export const makeCalDav = (client: HttpClient.HttpClient, config: NextcloudConfig["Type"]): CalDavShape => {
  const dav = makeDavObjects(client, config)
  const discovery = makeDavDiscovery(dav)

  const calendars = (account: DavAccount) =>
    Effect.gen(function* () {
      const home = yield* discovery.homeSet(account, "calendar")
      const responses = yield* dav.propfind("CalDav.calendars", account, home, "1", [
        prop(DAV_NS, "resourcetype"),
        prop(DAV_NS, "displayname"),
        prop(DAV_NS, "current-user-privilege-set"),
        prop(CALDAV_NS, "supported-calendar-component-set"),
        prop(CALDAV_NS, "calendar-timezone"),
        prop(APPLE_ICAL_NS, "calendar-color"),
        prop(CALENDARSERVER_NS, "getctag")
      ])
      return responses
        .filter((r) => r.status === null && isBelow(home, r.url) && hasResourceType(r, CALDAV_NS, "calendar"))
        .map((r): Calendar => {
          const id = collectionId(r.url)
          const tzData = propRawText(r, CALDAV_NS, "calendar-timezone")
          const tzid = tzData === null ? null : (/^TZID:(.+)$/m.exec(tzData.replace(/\r/g, ""))?.[1]?.trim() ?? null)
          return {
            id,
            url: r.url,
            name: propText(r, DAV_NS, "displayname") ?? id,
            components: componentsOf(r),
            readOnly: readOnlyOf(r),
            color: propText(r, APPLE_ICAL_NS, "calendar-color"),
            timezone: tzid
          }
        })
    })

  const calendar = (account: DavAccount, id: string) =>
    Effect.flatMap(calendars(account), (all) => {
      const found = all.find((c) => c.id === id)
      return found === undefined ? Effect.fail(new NextcloudNotFound({ operation: "CalDav.calendar" })) : Effect.succeed(found)
    })

  const query = (account: DavAccount, cal: Calendar, type: ComponentType, filter: { readonly range?: TimeRange; readonly uid?: string }) =>
    dav.report("CalDav.query", account, cal.url, "1", calendarQueryBody(type, filter)).pipe(
      Effect.map((responses) =>
        responses.flatMap((r): ReadonlyArray<CalendarObject> => {
          const data = propRawText(r, CALDAV_NS, "calendar-data")
          return r.status === null && data !== null && isBelow(cal.url, r.url) ? [{ url: r.url, etag: r.etag, data }] : []
        })
      )
    )

  const get = (account: DavAccount, url: URL) =>
    Effect.map(dav.get("CalDav.get", account, url, "text/calendar"), (o): CalendarObject => ({ url, etag: o.etag, data: o.body }))

  const afterPut = (account: DavAccount, url: URL, data: string, etag: string | null) =>
    // sabre/dav sends no ETag when it changed the data on the way in: read what it stored.
    etag === null ? get(account, url) : Effect.succeed({ url, etag, data })

  const create = (account: DavAccount, cal: Calendar, uid: string, data: string) =>
    Effect.gen(function* () {
      const url = new URL(`${cal.url.href.replace(/\/?$/, "/")}${encodeURIComponent(newObjectName(uid))}`)
      const put = yield* dav.put("CalDav.create", account, url, data, "text/calendar; charset=utf-8", { ifNoneMatch: "*" })
      return yield* afterPut(account, url, data, put.etag)
    })

  const update = (account: DavAccount, url: URL, data: string, ifMatch: string | null) =>
    Effect.gen(function* () {
      const put = yield* dav.put("CalDav.update", account, url, data, "text/calendar; charset=utf-8", ifMatch === null ? null : { ifMatch })
      return yield* afterPut(account, url, data, put.etag)
    })

  const remove = (account: DavAccount, url: URL, ifMatch: string | null) => dav.remove("CalDav.remove", account, url, ifMatch)

  return { calendars, calendar, query, get, create, update, remove }
}

export const CalDavLive: Layer.Layer<CalDav, never, HttpClient.HttpClient | NextcloudConfig> = Layer.effect(
  CalDav,
  Effect.gen(function* () {
    return makeCalDav(yield* HttpClient.HttpClient, yield* NextcloudConfig)
  })
)
