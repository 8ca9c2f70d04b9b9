/**
 * CalDAV in the simulated Nextcloud, as sabre/dav answers it, for events and
 * tasks alike (the tasks tools use the same calendars):
 *
 * - discovery: PROPFIND on `/remote.php/dav/` (current-user-principal), on
 *   the principal (calendar-home-set, addressbook-home-set), on the calendar
 *   home (depth 1: the calendars with displayname, resourcetype,
 *   supported-calendar-component-set, current-user-privilege-set, getctag);
 * - REPORT `calendar-query` (comp-filter, time-range with recurrences
 *   expanded, prop-filter/text-match on UID) and `calendar-multiget`,
 *   answered with a 207 multistatus (404 responses for unknown hrefs);
 * - GET, PUT (`If-Match`, `If-None-Match: *` → 412; unparsable data → 415;
 *   a component the calendar does not hold → 403; a UID already used by
 *   another object → 403), DELETE (`If-Match`; 404 when gone), each with a
 *   strong `ETag` (the quoted MD5 of the data, as Nextcloud sends);
 * - every user starts with `personal` (VEVENT, VTODO) and the read-only
 *   `contact_birthdays`; hooks seed calendars and objects and read them back.
 */
import { createHash } from "node:crypto"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect, Either, Schema } from "effect"
import { componentsOf, ensureTimezones, occurrencesIn, safeParseCalendar, textProp, timeProp, msOf } from "../../nextcloud/caldavIcal.js"
import { CALDAV_NS, CALENDARSERVER_NS, CARDDAV_NS, xmlText, APPLE_ICAL_NS } from "../../nextcloud/davObjects.js"
import { childNamed, childrenNamed, DAV_NS, parseXml, textOf, type XmlElement } from "../../nextcloud/davXml.js"
import { davUser, sabreError as davError } from "../../simulator/dav.js"
import { hook } from "../../simulator/hooks.js"
import { header } from "../../simulator/http.js"
import { pathOf } from "../../simulator/routeKeys.js"
import type { SimulatorApp } from "../../simulator/SimulatorApp.js"
import { now, SimulatorHookError, type SimState } from "../../simulator/state.js"

const DAV_ROOT = "/remote.php/dav"
const CALENDARS = `${DAV_ROOT}/calendars/`
const PRINCIPALS = `${DAV_ROOT}/principals/users/`

export interface SimCalendarObject {
  data: string
  etag: string
  modified: number
}

export interface SimCalendar {
  readonly id: string
  name: string
  components: ReadonlyArray<string>
  readOnly: boolean
  color: string
  ctag: number
  readonly objects: Map<string, SimCalendarObject>
}

export interface CalendarObjectInfo {
  readonly calendar: string
  readonly name: string
  readonly href: string
  readonly etag: string
  readonly data: string
}

export interface SeedCalendar {
  readonly userId: string
  readonly id: string
  readonly name?: string | undefined
  readonly components?: ReadonlyArray<string> | undefined
  readonly readOnly?: boolean | undefined
}

export interface SeedCalendarObject {
  readonly userId: string
  readonly calendar: string
  /** The object's name in the calendar (default `<uid>.ics`, or a random name). */
  readonly name?: string | undefined
  readonly data: string
}

export interface CalendarControl {
  readonly seedCalendar: (input: SeedCalendar) => Effect.Effect<void, SimulatorHookError>
  readonly seedCalendarObject: (input: SeedCalendarObject) => Effect.Effect<CalendarObjectInfo, SimulatorHookError>
  /** Every object of a user's calendars (or of one), sorted by calendar then name. */
  readonly listCalendarObjects: (input: { readonly userId: string; readonly calendar?: string | undefined }) => Effect.Effect<ReadonlyArray<CalendarObjectInfo>, SimulatorHookError>
}

type Store = Map<string, Map<string, SimCalendar>>

const etagOf = (data: string) => `"${createHash("md5").update(data).digest("hex")}"`

const defaults = (): Map<string, SimCalendar> =>
  new Map([
    ["personal", { id: "personal", name: "Personal", components: ["VEVENT", "VTODO"], readOnly: false, color: "#0082c9", ctag: 1, objects: new Map() }],
    ["contact_birthdays", { id: "contact_birthdays", name: "Contact birthdays", components: ["VEVENT"], readOnly: true, color: "#E9D859", ctag: 1, objects: new Map() }]
  ])

const calendarsOf = (store: Store, userId: string) => {
  let calendars = store.get(userId)
  if (calendars === undefined) {
    calendars = defaults()
    store.set(userId, calendars)
  }
  return calendars
}

const homeHref = (userId: string) => `${CALENDARS}${encodeURIComponent(userId)}/`
const calendarHref = (userId: string, id: string) => `${homeHref(userId)}${encodeURIComponent(id)}/`
const objectHref = (userId: string, id: string, name: string) => `${calendarHref(userId, id)}${encodeURIComponent(name)}`

// --- responses ----------------------------------------------------------------------------

const sabreError = (status: number, exception: string, text: string, condition = "") =>
  davError(status, exception, text, { namespaces: `xmlns:cal="${CALDAV_NS}"`, condition })

const NAMESPACES = `xmlns:d="DAV:" xmlns:s="http://sabredav.org/ns" xmlns:cal="${CALDAV_NS}" xmlns:cs="${CALENDARSERVER_NS}" xmlns:card="${CARDDAV_NS}" xmlns:x1="${APPLE_ICAL_NS}" xmlns:oc="http://owncloud.org/ns" xmlns:nc="http://nextcloud.org/ns"`

const PREFIX: Readonly<Record<string, string>> = {
  [DAV_NS]: "d",
  [CALDAV_NS]: "cal",
  [CALENDARSERVER_NS]: "cs",
  [CARDDAV_NS]: "card",
  [APPLE_ICAL_NS]: "x1",
  "http://owncloud.org/ns": "oc",
  "http://nextcloud.org/ns": "nc"
}

type PropValues = ReadonlyMap<string, string>

/** One `<d:response>`: the requested properties found (200) and those not (404), as sabre/dav splits them. */
const responseXml = (href: string, requested: ReadonlyArray<{ ns: string; local: string }>, values: PropValues) => {
  const found: Array<string> = []
  const missing: Array<string> = []
  for (const p of requested) {
    const prefix = PREFIX[p.ns]
    const value = values.get(`${p.ns} ${p.local}`)
    const name = prefix === undefined ? null : `${prefix}:${p.local}`
    if (name === null) {
      missing.push(`<x:${p.local} xmlns:x="${xmlText(p.ns)}"/>`)
    } else if (value === undefined) {
      missing.push(`<${name}/>`)
    } else {
      found.push(value === "" ? `<${name}/>` : `<${name}>${value}</${name}>`)
    }
  }
  const propstat = (props: Array<string>, status: string) =>
    props.length === 0 ? "" : `<d:propstat><d:prop>${props.join("")}</d:prop><d:status>HTTP/1.1 ${status}</d:status></d:propstat>`
  return `<d:response><d:href>${xmlText(href)}</d:href>${propstat(found, "200 OK")}${propstat(missing, "404 Not Found")}</d:response>`
}

const multistatus = (responses: ReadonlyArray<string>) =>
  HttpServerResponse.text(`<?xml version="1.0"?>\n<d:multistatus ${NAMESPACES}>${responses.join("")}</d:multistatus>`, {
    status: 207,
    contentType: "application/xml; charset=utf-8"
  })

const requestedProps = (body: XmlElement | null): ReadonlyArray<{ ns: string; local: string }> | "allprop" => {
  if (body === null) return "allprop"
  const p = childNamed(body, DAV_NS, "prop")
  if (p === undefined) return "allprop"
  return p.children.filter((c): c is XmlElement => typeof c !== "string").map((c) => ({ ns: c.ns ?? "", local: c.local }))
}

const privileges = (readOnly: boolean) =>
  (readOnly ? ["read", "read-acl", "read-current-user-privilege-set"] : ["read", "read-acl", "read-current-user-privilege-set", "write", "write-content", "write-properties", "bind", "unbind", "all"])
    .map((p) => `<d:privilege><d:${p}/></d:privilege>`)
    .join("")

const calendarProps = (calendar: SimCalendar): PropValues =>
  new Map([
    [`${DAV_NS} resourcetype`, "<d:collection/><cal:calendar/>"],
    [`${DAV_NS} displayname`, xmlText(calendar.name)],
    [`${DAV_NS} current-user-privilege-set`, privileges(calendar.readOnly)],
    [`${DAV_NS} getetag`, xmlText(`"${calendar.ctag}"`)],
    [`${CALDAV_NS} supported-calendar-component-set`, calendar.components.map((c) => `<cal:comp name="${c}"/>`).join("")],
    [`${CALENDARSERVER_NS} getctag`, `http://sabre.io/ns/sync/${calendar.ctag}`],
    [`${APPLE_ICAL_NS} calendar-color`, xmlText(calendar.color)]
  ])

const objectProps = (object: SimCalendarObject, withData: boolean): PropValues =>
  new Map([
    [`${DAV_NS} resourcetype`, ""],
    [`${DAV_NS} getetag`, xmlText(object.etag)],
    [`${DAV_NS} getcontenttype`, "text/calendar; charset=utf-8; component=vevent"],
    [`${DAV_NS} getcontentlength`, String(Buffer.byteLength(object.data))],
    [`${DAV_NS} getlastmodified`, new Date(object.modified).toUTCString()],
    ...(withData ? ([[`${CALDAV_NS} calendar-data`, xmlText(object.data)]] as const) : [])
  ])

// --- calendar-query -------------------------------------------------------------------

const parseUtc = (text: string | undefined): number | null => {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text ?? "")
  return m === null ? null : Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]))
}

/** Whether an object matches a `calendar-query` filter (the parts clients send: component, time range, text-match). */
const matches = (data: string, filter: XmlElement | undefined): boolean => {
  const vcalendar = safeParseCalendar(data)
  if (vcalendar === null) return false
  const outer = filter === undefined ? undefined : childNamed(filter, CALDAV_NS, "comp-filter")
  if (outer === undefined) return true
  for (const compFilter of childrenNamed(outer, CALDAV_NS, "comp-filter")) {
    const type = (compFilter.attributes?.["name"] ?? "").toLowerCase()
    if (type !== "vevent" && type !== "vtodo") return false
    const set = componentsOf(vcalendar, type)
    const all = [...(set.master === null ? [] : [set.master]), ...set.overrides]
    if (all.length === 0) return false
    for (const propFilter of childrenNamed(compFilter, CALDAV_NS, "prop-filter")) {
      const name = (propFilter.attributes?.["name"] ?? "").toLowerCase()
      const textMatch = childNamed(propFilter, CALDAV_NS, "text-match")
      const isNotDefined = childNamed(propFilter, CALDAV_NS, "is-not-defined") !== undefined
      const values = all.map((c) => textProp(c, name)).filter((v): v is string => v !== null)
      if (isNotDefined && values.length > 0) return false
      if (!isNotDefined && textMatch === undefined && values.length === 0) return false
      if (textMatch !== undefined) {
        const needle = textOf(textMatch)
        const negate = textMatch.attributes?.["negate-condition"] === "yes"
        const caseless = (textMatch.attributes?.["collation"] ?? "i;ascii-casemap") !== "i;octet"
        const hit = values.some((v) => (caseless ? v.toLowerCase().includes(needle.toLowerCase()) : v.includes(needle)))
        if (hit === negate) return false
      }
    }
    const range = childNamed(compFilter, CALDAV_NS, "time-range")
    if (range !== undefined) {
      const start = parseUtc(range.attributes?.["start"]) ?? Number.MIN_SAFE_INTEGER
      const end = parseUtc(range.attributes?.["end"]) ?? Number.MAX_SAFE_INTEGER
      if (type === "vevent") {
        if (occurrencesIn(set, start, end).occurrences.length === 0) return false
      } else {
        const inRange = all.some((c) => {
          const s = timeProp(c, "dtstart")
          const due = timeProp(c, "due")
          if (s === null && due === null) return true
          const from = s === null ? msOf(due!) : msOf(s)
          const to = due === null ? from : msOf(due)
          return from < end && to >= start
        })
        if (!inRange) return false
      }
    }
  }
  return true
}

// --- the DAV app ----------------------------------------------------------------------

const uidsOf = (data: string): ReadonlyArray<string> => {
  const vcalendar = safeParseCalendar(data)
  if (vcalendar === null) return []
  return [...vcalendar.getAllSubcomponents("vevent"), ...vcalendar.getAllSubcomponents("vtodo")]
    .map((c) => textProp(c, "uid"))
    .filter((u): u is string => u !== null)
}

const typesOf = (data: string): ReadonlyArray<string> => {
  const vcalendar = safeParseCalendar(data)
  if (vcalendar === null) return []
  return vcalendar.getAllSubcomponents().map((c) => c.name.toUpperCase()).filter((n) => n !== "VTIMEZONE")
}

export const isCalDavPath = (path: string): boolean =>
  path === DAV_ROOT || path === `${DAV_ROOT}/` || path.startsWith(CALENDARS) || path.startsWith(PRINCIPALS)

const decodeSegments = (rest: string): ReadonlyArray<string> | null => {
  const out: Array<string> = []
  for (const raw of rest.split("/")) {
    if (raw === "") continue
    try {
      out.push(decodeURIComponent(raw))
    } catch {
      return null
    }
  }
  return out
}

const davApp = (sim: SimState, store: Store) =>
  Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    const who = yield* davUser(sim, request)
    if (Either.isLeft(who)) return who.left
    const user = who.right
    yield* ensureTimezones
    const userId = user.userId
    const method = request.method.toUpperCase()
    const path = pathOf(request.url)
    const text = yield* Effect.orElseSucceed(request.text, () => "")
    let body: XmlElement | null = null
    if ((method === "PROPFIND" || method === "REPORT") && text.trim() !== "") {
      const parsed = parseXml(text)
      if (Either.isLeft(parsed)) return sabreError(400, "BadRequest", "The request body is not well-formed XML")
      body = parsed.right
    }
    const depth = header(request, "depth") ?? (method === "PROPFIND" ? "infinity" : "0")
    const at = yield* now(sim)

    // The root and the principal: discovery.
    if (path === DAV_ROOT || path === `${DAV_ROOT}/` || path.startsWith(PRINCIPALS)) {
      if (method !== "PROPFIND") return sabreError(405, "MethodNotAllowed", `${method} is not allowed here`)
      const requested = requestedProps(body)
      const names = requested === "allprop" ? [{ ns: DAV_NS, local: "resourcetype" }] : requested
      const principal = `${PRINCIPALS}${encodeURIComponent(userId)}/`
      if (path.startsWith(PRINCIPALS)) {
        const segments = decodeSegments(path.slice(PRINCIPALS.length))
        if (segments === null || segments.length !== 1) return sabreError(404, "NotFound", "Principal not found")
        if (segments[0] !== userId) return sabreError(404, "NotFound", "Principal with name " + segments[0] + " not found")
        return multistatus([
          responseXml(principal, names, new Map([
            [`${DAV_NS} resourcetype`, "<d:principal/>"],
            [`${DAV_NS} displayname`, xmlText(user.displayName)],
            [`${DAV_NS} current-user-principal`, `<d:href>${principal}</d:href>`],
            [`${CALDAV_NS} calendar-home-set`, `<d:href>${homeHref(userId)}</d:href>`],
            [`${CARDDAV_NS} addressbook-home-set`, `<d:href>${DAV_ROOT}/addressbooks/users/${encodeURIComponent(userId)}/</d:href>`]
          ]))
        ])
      }
      return multistatus([
        responseXml(`${DAV_ROOT}/`, names, new Map([
          [`${DAV_NS} resourcetype`, "<d:collection/>"],
          [`${DAV_NS} current-user-principal`, `<d:href>${principal}</d:href>`]
        ]))
      ])
    }

    const segments = decodeSegments(path.slice(CALENDARS.length))
    if (segments === null) return sabreError(400, "BadRequest", "Invalid path")
    const [owner, calendarId, objectName, ...beyond] = segments
    if (owner === undefined) {
      if (method !== "PROPFIND") return sabreError(405, "MethodNotAllowed", `${method} is not allowed here`)
      const requested = requestedProps(body)
      const names = requested === "allprop" ? [{ ns: DAV_NS, local: "resourcetype" }] : requested
      return multistatus([responseXml(CALENDARS, names, new Map([[`${DAV_NS} resourcetype`, "<d:collection/>"]]))])
    }
    if (owner !== userId) return sabreError(404, "NotFound", `Node with name '${owner}' could not be found`)
    const calendars = calendarsOf(store, userId)
    if (beyond.length > 0) return sabreError(404, "NotFound", "Not found")

    if (calendarId === undefined) {
      if (method !== "PROPFIND") return sabreError(405, "MethodNotAllowed", `${method} is not allowed on the calendar home`)
      const requested = requestedProps(body)
      const names = requested === "allprop" ? [{ ns: DAV_NS, local: "resourcetype" }, { ns: DAV_NS, local: "displayname" }] : requested
      const responses = [responseXml(homeHref(userId), names, new Map([[`${DAV_NS} resourcetype`, "<d:collection/>"]]))]
      if (depth !== "0") {
        for (const calendar of calendars.values()) responses.push(responseXml(calendarHref(userId, calendar.id), names, calendarProps(calendar)))
        // sabre/dav lists the scheduling inbox and outbox and the trash bin beside the calendars.
        responses.push(responseXml(`${homeHref(userId)}inbox/`, names, new Map([[`${DAV_NS} resourcetype`, "<d:collection/><cal:schedule-inbox/>"]])))
        responses.push(responseXml(`${homeHref(userId)}trashbin/`, names, new Map([[`${DAV_NS} resourcetype`, "<d:collection/><nc:trash-bin/>"]])))
      }
      return multistatus(responses)
    }

    const calendar = calendars.get(calendarId)
    if (calendar === undefined) return sabreError(404, "NotFound", `Node with name '${calendarId}' could not be found`)

    if (objectName === undefined) {
      if (method === "PROPFIND") {
        const requested = requestedProps(body)
        const names = requested === "allprop" ? [{ ns: DAV_NS, local: "resourcetype" }, { ns: DAV_NS, local: "getetag" }] : requested
        const responses = [responseXml(calendarHref(userId, calendar.id), names, calendarProps(calendar))]
        if (depth !== "0") {
          for (const [name, object] of calendar.objects) responses.push(responseXml(objectHref(userId, calendar.id, name), names, objectProps(object, true)))
        }
        return multistatus(responses)
      }
      if (method === "REPORT") {
        if (body === null) return sabreError(400, "BadRequest", "A REPORT needs a body")
        const requested = requestedProps(body)
        const names = requested === "allprop" ? [{ ns: DAV_NS, local: "getetag" }] : requested
        if (body.ns === CALDAV_NS && body.local === "calendar-query") {
          const filter = childNamed(body, CALDAV_NS, "filter")
          const responses: Array<string> = []
          for (const [name, object] of calendar.objects) {
            if (matches(object.data, filter)) responses.push(responseXml(objectHref(userId, calendar.id, name), names, objectProps(object, true)))
          }
          return multistatus(responses)
        }
        if (body.ns === CALDAV_NS && body.local === "calendar-multiget") {
          const responses: Array<string> = []
          for (const hrefElement of childrenNamed(body, DAV_NS, "href")) {
            const href = textOf(hrefElement).trim()
            const hrefPath = href.startsWith("http") ? new URL(href).pathname : href
            const name = decodeSegments(hrefPath.slice(calendarHref(userId, calendar.id).length))?.[0]
            const object = name === undefined || !hrefPath.startsWith(calendarHref(userId, calendar.id)) ? undefined : calendar.objects.get(name)
            responses.push(
              object === undefined || name === undefined
                ? `<d:response><d:href>${xmlText(href)}</d:href><d:status>HTTP/1.1 404 Not Found</d:status></d:response>`
                : responseXml(objectHref(userId, calendar.id, name), names, objectProps(object, true))
            )
          }
          return multistatus(responses)
        }
        return sabreError(415, "ReportNotSupported", "The {" + (body.ns ?? "") + "}" + body.local + " REPORT is not supported on this url.")
      }
      return sabreError(405, "MethodNotAllowed", `${method} is not allowed on a calendar here`)
    }

    const existing = calendar.objects.get(objectName)
    const ifMatch = header(request, "if-match")
    const ifNoneMatch = header(request, "if-none-match")
    const preconditionFailed = (): boolean =>
      (ifMatch !== undefined && (existing === undefined || (ifMatch.trim() !== "*" && !ifMatch.split(",").map((e) => e.trim()).includes(existing.etag)))) ||
      (ifNoneMatch !== undefined && existing !== undefined && (ifNoneMatch.trim() === "*" || ifNoneMatch.split(",").map((e) => e.trim()).includes(existing.etag)))
    switch (method) {
      case "GET":
      case "HEAD": {
        if (existing === undefined) return sabreError(404, "NotFound", `Calendar object not found`)
        return HttpServerResponse.text(method === "HEAD" ? "" : existing.data, {
          status: 200,
          headers: { etag: existing.etag, "last-modified": new Date(existing.modified).toUTCString() },
          contentType: "text/calendar; charset=utf-8"
        })
      }
      case "PUT": {
        if (calendar.readOnly) return sabreError(403, "Forbidden", "Access denied: this calendar is read-only")
        if (preconditionFailed()) {
          return sabreError(412, "PreconditionFailed", ifMatch !== undefined ? "An If-Match header was specified, but none of the specified ETags matched." : "An If-None-Match header was specified, but the ETag matched (or * was specified).")
        }
        const vcalendar = safeParseCalendar(text)
        if (vcalendar === null) return sabreError(415, "UnsupportedMediaType", "Calendar object is not valid iCalendar")
        const types = [...new Set(typesOf(text))]
        if (types.length !== 1) return sabreError(400, "BadRequest", "A calendar object must hold exactly one kind of component")
        if (!calendar.components.includes(types[0] as string)) {
          return sabreError(403, "Forbidden", `Calendar does not support component ${types[0]}`, "<cal:supported-calendar-component/>")
        }
        const uids = [...new Set(uidsOf(text))]
        if (uids.length !== 1) return sabreError(400, "BadRequest", "Every component of a calendar object must have the same UID")
        for (const [name, other] of calendar.objects) {
          if (name !== objectName && uidsOf(other.data).includes(uids[0] as string)) {
            return sabreError(403, "Forbidden", `The UID ${uids[0]} is already used by another object`, "<cal:no-uid-conflict/>")
          }
        }
        const object = { data: text, etag: etagOf(text), modified: at }
        calendar.objects.set(objectName, object)
        calendar.ctag++
        return HttpServerResponse.empty({ status: existing === undefined ? 201 : 204, headers: { etag: object.etag } })
      }
      case "DELETE": {
        if (existing === undefined) return sabreError(404, "NotFound", "Calendar object not found")
        if (calendar.readOnly) return sabreError(403, "Forbidden", "Access denied: this calendar is read-only")
        if (preconditionFailed()) return sabreError(412, "PreconditionFailed", "An If-Match header was specified, but none of the specified ETags matched.")
        calendar.objects.delete(objectName)
        calendar.ctag++
        return HttpServerResponse.empty({ status: 204 })
      }
      case "PROPFIND": {
        if (existing === undefined) return sabreError(404, "NotFound", "Calendar object not found")
        const requested = requestedProps(body)
        const names = requested === "allprop" ? [{ ns: DAV_NS, local: "getetag" }] : requested
        return multistatus([responseXml(objectHref(userId, calendar.id, objectName), names, objectProps(existing, true))])
      }
      default:
        return sabreError(405, "MethodNotAllowed", `${method} is not allowed on a calendar object`)
    }
  })

// --- hooks --------------------------------------------------------------------------------

const hookError = (reason: "UnknownUser" | "UnknownPath" | "InvalidRequest", message: string) => new SimulatorHookError({ reason, message })

const makeControl = (sim: SimState, store: Store): CalendarControl => {
  const userCalendars = (userId: string) =>
    sim.users.has(userId) ? Effect.succeed(calendarsOf(store, userId)) : Effect.fail(hookError("UnknownUser", `No user with uid ${userId}`))
  const info = (userId: string, calendar: SimCalendar, name: string, object: SimCalendarObject): CalendarObjectInfo => ({
    calendar: calendar.id,
    name,
    href: objectHref(userId, calendar.id, name),
    etag: object.etag,
    data: object.data
  })
  return {
    seedCalendar: (input) =>
      Effect.flatMap(userCalendars(input.userId), (calendars) =>
        Effect.sync(() => {
          calendars.set(input.id, {
            id: input.id,
            name: input.name ?? input.id,
            components: input.components ?? ["VEVENT", "VTODO"],
            readOnly: input.readOnly ?? false,
            color: "#795AAB",
            ctag: 1,
            objects: calendars.get(input.id)?.objects ?? new Map()
          })
        })
      ),
    seedCalendarObject: (input) =>
      Effect.gen(function* () {
        const calendars = yield* userCalendars(input.userId)
        const calendar = calendars.get(input.calendar)
        if (calendar === undefined) return yield* hookError("UnknownPath", `No calendar ${input.calendar}`)
        yield* ensureTimezones
        if (safeParseCalendar(input.data) === null) return yield* hookError("InvalidRequest", "data is not iCalendar")
        const name = input.name ?? `${uidsOf(input.data)[0] ?? `seed-${sim.nextId++}`}.ics`
        const object = { data: input.data, etag: etagOf(input.data), modified: yield* now(sim) }
        calendar.objects.set(name, object)
        calendar.ctag++
        return info(input.userId, calendar, name, object)
      }),
    listCalendarObjects: (input) =>
      Effect.map(userCalendars(input.userId), (calendars) =>
        [...calendars.values()]
          .filter((c) => input.calendar === undefined || c.id === input.calendar)
          .flatMap((c) => [...c.objects].map(([name, object]) => info(input.userId, c, name, object)))
          .sort((a, b) => (a.calendar + a.name < b.calendar + b.name ? -1 : 1))
      )
  }
}

const SeedCalendarBody = Schema.Struct({
  userId: Schema.String,
  id: Schema.String.pipe(Schema.pattern(/^[A-Za-z0-9_.-]+$/)),
  name: Schema.optional(Schema.String),
  components: Schema.optional(Schema.Array(Schema.Literal("VEVENT", "VTODO", "VJOURNAL"))),
  readOnly: Schema.optional(Schema.Boolean)
})
const SeedObjectBody = Schema.Struct({ userId: Schema.String, calendar: Schema.String, name: Schema.optional(Schema.String), data: Schema.String })
const ListBody = Schema.Struct({ userId: Schema.String, calendar: Schema.optional(Schema.String) })

const ROUTE_KEYS = ["caldav.propfind", "caldav.report", "caldav.get", "caldav.put", "caldav.delete", "caldav.other"] as const

const METHOD_KEYS: Readonly<Record<string, (typeof ROUTE_KEYS)[number]>> = {
  PROPFIND: "caldav.propfind",
  REPORT: "caldav.report",
  GET: "caldav.get",
  HEAD: "caldav.get",
  PUT: "caldav.put",
  DELETE: "caldav.delete"
}

export const calendarSimulator: SimulatorApp<CalendarControl> = {
  routeKeys: ROUTE_KEYS,
  routeKey: (method, path) => (isCalDavPath(path) ? (METHOD_KEYS[method] ?? "caldav.other") : undefined),
  hookEndpoints: [
    "POST   /__sim/calendars                        {userId, id, name?, components?, readOnly?} (CalDAV calendar)",
    "POST   /__sim/calendar-objects                 {userId, calendar, name?, data} (iCalendar text)",
    "POST   /__sim/calendar-objects/list            {userId, calendar?} -> [{calendar, name, href, etag, data}]"
  ],
  mount: (sim) => {
    const store: Store = new Map()
    const control = makeControl(sim, store)
    const hooks = HttpRouter.empty.pipe(
      HttpRouter.post("/__sim/calendars", hook(SeedCalendarBody, (input) => control.seedCalendar(input), 201)),
      HttpRouter.post("/__sim/calendar-objects", hook(SeedObjectBody, (input) => control.seedCalendarObject(input), 201)),
      HttpRouter.post("/__sim/calendar-objects/list", hook(ListBody, (input) => control.listCalendarObjects(input)))
    )
    return { routes: HttpRouter.empty, serves: { path: isCalDavPath, app: davApp(sim, store) }, hooks, control }
  },
  remote: (call) => ({
    seedCalendar: (input) => call("POST", "/calendars", input).then(() => undefined),
    seedCalendarObject: (input) => call("POST", "/calendar-objects", input),
    listCalendarObjects: (input) => call("POST", "/calendar-objects/list", input)
  })
}
