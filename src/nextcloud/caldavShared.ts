/**
 * What the calendar and the tasks tools share above the CalDAV client:
 * paging a computed list with an opaque cursor, finding an object by its UID
 * (then addressing it by its own href), checking a caller's `if_match`, and
 * the web root for links into Nextcloud's web UI.
 */
import { Effect, Either, Schema } from "effect"
import { Conflict, InvalidArguments, NotFound, PermissionDenied } from "../domain/Errors.js"
import { CalDav, type CalDavShape, type Calendar, type CalendarObject, type ComponentType } from "./caldav.js"
import { componentsOf, isKnownTimezone, safeParseCalendar } from "./caldavIcal.js"
import type ICAL from "ical.js"
import { sameEtag } from "./davObjects.js"
import type { DataCallError } from "./errors.js"
import type { DavAccount } from "./Ocs.js"

export const DEFAULT_LIMIT = 50
export const MAX_LIMIT = 500

export const Limit = Schema.Number.pipe(Schema.int(), Schema.between(1, MAX_LIMIT)).annotations({
  description: `Items per page, 1–${MAX_LIMIT} (default ${DEFAULT_LIMIT})`
})
export const Cursor = Schema.String.pipe(Schema.maxLength(1000)).annotations({
  description: "next_cursor of the previous page (with the same other arguments)"
})

const CursorJson = Schema.parseJson(Schema.Struct({ o: Schema.Number.pipe(Schema.int(), Schema.nonNegative()), f: Schema.String }))

const fingerprintOf = (args: unknown): string => {
  let h = 0x811c9dc5
  for (const ch of JSON.stringify(args)) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0
  return h.toString(36)
}

/**
 * One page of `items`; the cursor holds the offset and a fingerprint of the
 * other arguments, so a cursor used with different arguments is refused.
 */
export const pageOf = <A>(
  items: ReadonlyArray<A>,
  args: unknown,
  limit: number | undefined,
  cursor: string | undefined
): Either.Either<{ readonly items: ReadonlyArray<A>; readonly nextCursor: string | null }, InvalidArguments> => {
  const fingerprint = fingerprintOf(args)
  let offset = 0
  if (cursor !== undefined) {
    const decoded = Either.try(() => Buffer.from(cursor, "base64url").toString("utf8"))
    const parsed = Either.isLeft(decoded) ? null : Schema.decodeUnknownEither(CursorJson)(decoded.right)
    if (parsed === null || Either.isLeft(parsed) || parsed.right.f !== fingerprint) {
      return Either.left(new InvalidArguments({ message: "cursor is not a next_cursor of this list with these arguments; start again without cursor." }))
    }
    offset = parsed.right.o
  }
  const size = limit ?? DEFAULT_LIMIT
  const slice = items.slice(offset, offset + size)
  const next = offset + size < items.length ? Buffer.from(JSON.stringify({ o: offset + size, f: fingerprint })).toString("base64url") : null
  return Either.right({ items: slice, nextCursor: next })
}

/** An object found by UID, parsed. */
export interface FoundObject {
  readonly object: CalendarObject
  readonly vcalendar: ICAL.Component
}

/**
 * The object of `calendar` whose component of `type` has this UID, found by
 * a calendar-query (the server's text-match is a substring match: the exact
 * UID is checked here). `NotFound` names what is missing.
 */
export const findByUid = (
  caldav: CalDavShape,
  account: DavAccount,
  calendar: Calendar,
  type: ComponentType,
  uid: string,
  what: string
): Effect.Effect<FoundObject, NotFound | DataCallError> =>
  Effect.flatMap(caldav.query(account, calendar, type, { uid }), (objects) => {
    const kind = type === "VEVENT" ? "vevent" : "vtodo"
    for (const object of objects) {
      const vcalendar = safeParseCalendar(object.data)
      if (vcalendar === null) continue
      const set = componentsOf(vcalendar, kind)
      const all = [...(set.master === null ? [] : [set.master]), ...set.overrides]
      if (all.some((c) => c.getFirstPropertyValue("uid") === uid)) return Effect.succeed({ object, vcalendar })
    }
    return Effect.fail(new NotFound({ message: `There is no ${what} with id ${uid} in calendar ${calendar.id} (it may have been deleted).` }))
  })

/** A caller's `if_match` against the object's current etag: a stale one is a `Conflict`, nothing sent. */
export const checkIfMatch = (found: CalendarObject, ifMatch: string | undefined, what: string): Effect.Effect<void, Conflict> =>
  ifMatch === undefined || found.etag === null || sameEtag(found.etag, ifMatch)
    ? Effect.void
    : Effect.fail(
        new Conflict({
          message: `The ${what} was changed since you read it (if_match ${ifMatch} is out of date; it is now ${found.etag}), so nothing was changed. Read it again and re-apply your change.`
        })
      )

/** The installation's web root (`/nextcloud` on a sub-path install, "" at the root), from a DAV URL. */
export const webRootOf = (davUrl: URL): string => {
  const at = davUrl.pathname.indexOf("/remote.php/")
  return at <= 0 ? "" : davUrl.pathname.slice(0, at)
}

/** A link on the public origin below the installation's web root. */
export const webUrl = (publicUrl: URL, davUrl: URL, path: string): string => `${publicUrl.origin}${webRootOf(davUrl)}/index.php/${path}`

/** The calendars holding `type`, or the one asked for (which must hold it). */
export const calendarsFor = (
  caldav: CalDavShape,
  account: DavAccount,
  type: ComponentType,
  calendarId: string | undefined
): Effect.Effect<ReadonlyArray<Calendar>, NotFound | InvalidArguments | DataCallError> =>
  Effect.flatMap(caldav.calendars(account), (all): Effect.Effect<ReadonlyArray<Calendar>, NotFound | InvalidArguments> => {
    if (calendarId === undefined) return Effect.succeed(all.filter((c) => c.components.includes(type)))
    const calendar = all.find((c) => c.id === calendarId)
    if (calendar === undefined) {
      return Effect.fail(new NotFound({ message: `There is no calendar with id ${calendarId}. Calendars: ${all.map((c) => c.id).join(", ") || "none"}.` }))
    }
    if (!calendar.components.includes(type)) {
      return Effect.fail(
        new InvalidArguments({ message: `Calendar ${calendarId} does not hold ${type === "VEVENT" ? "events" : "tasks"} (it holds ${calendar.components.join(", ")}).` })
      )
    }
    return Effect.succeed([calendar])
  })

/** The one calendar with this id that holds `type` (NotFound otherwise; see `calendarsFor`). */
export const oneCalendar = (account: DavAccount, calendarId: string, type: ComponentType) =>
  Effect.flatMap(CalDav, (caldav) => calendarsFor(caldav, account, type, calendarId)).pipe(Effect.map((calendars) => calendars[0] as Calendar))

/** Writing into a calendar shared read-only is refused before anything is sent. */
export const writable = (calendar: Calendar): Effect.Effect<void, PermissionDenied> =>
  calendar.readOnly ? Effect.fail(new PermissionDenied({ message: `Calendar ${calendar.id} is read-only for you.` })) : Effect.void

/** An IANA zone name the server knows, or none given. */
export const checkTimezone = (timezone: string | undefined): Effect.Effect<void, InvalidArguments> =>
  timezone === undefined || isKnownTimezone(timezone)
    ? Effect.void
    : Effect.fail(new InvalidArguments({ message: `Unknown time zone "${timezone}": give an IANA name such as Europe/Berlin or America/New_York.` }))

/**
 * The refusals of a write to a calendar object, in the tools' words (`what`:
 * "event" or "task"; `id` null for a create); anything else is left to the adapter.
 */
export const writeRefusals =
  (what: "event" | "task", calendarId: string, id: string | null) =>
  <A, R>(self: Effect.Effect<A, DataCallError, R>): Effect.Effect<A, DataCallError | NotFound | Conflict | PermissionDenied, R> =>
    Effect.mapError(self, (error) => {
      const What = what === "event" ? "Event" : "Task"
      switch (error._tag) {
        case "NextcloudNotFound":
          return new NotFound({ message: id === null ? `There is no calendar with id ${calendarId}.` : `${What} ${id} is gone from calendar ${calendarId}.` })
        case "NextcloudPreconditionFailed":
          return new Conflict({
            message:
              id === null
                ? `A${what === "event" ? "n" : ""} ${what} with this id already exists in calendar ${calendarId}.`
                : `${What} ${id} was changed by someone else meanwhile, so nothing was changed. Read it again and re-apply your change.`
          })
        case "NextcloudForbidden":
          return new PermissionDenied({ message: `Calendar ${calendarId} is read-only for you.` })
        default:
          return error
      }
    })
