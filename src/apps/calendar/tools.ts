/**
 * Calendar tools over CalDAV: calendars, events (recurrences expanded inside
 * the asked range), free time. Reads need `calendar.read`, writes
 * `calendar.write`. Events are addressed by calendar id and UID; the object
 * holding them is found by a query and written at its own href.
 */
import { randomUUID } from "node:crypto"
import { Clock, Effect, Either, Schema } from "effect"
import ICAL from "ical.js"
import { InvalidArguments, NotFound } from "../../domain/Errors.js"
import { CalDav, type Calendar, type CalendarObject } from "../../nextcloud/caldav.js"
import {
  addComponent,
  componentsOf,
  dateValue,
  editObject,
  type EditTarget,
  ensureTimezones,
  eventEnd,
  instantAt,
  isKnownTimezone,
  isUtcName,
  newCalendarObject,
  occurrencesIn,
  originalOccurrence,
  outputTime,
  parseInputTime,
  placementOf,
  type PropertyChange,
  removeComponent,
  rruleText,
  safeParseCalendar,
  textProp,
  textProperty,
  timeProp,
  timeProperty,
  utcNow,
  valueProperty
} from "../../nextcloud/caldavIcal.js"
import { calendarsFor, checkIfMatch, checkTimezone, Cursor, findByUid, Limit, oneCalendar, pageOf, webUrl, writable, writeRefusals } from "../../nextcloud/caldavShared.js"
import { NextcloudConfig } from "../../nextcloud/NextcloudConfig.js"
import { davAccountOf } from "../../tools/account.js"
import { whileTrying } from "../../tools/nextcloudFailures.js"
import * as Tool from "../../tools/Tool.js"

// --- schemas -------------------------------------------------------------------------

const CalendarId = Schema.String.pipe(Schema.minLength(1), Schema.maxLength(200)).annotations({
  description: "The calendar's id (from nc_calendar_list_calendars), e.g. personal"
})
const EventId = Schema.String.pipe(Schema.minLength(1), Schema.maxLength(1000)).annotations({ description: "The event's id (its UID)" })
const TimeText = Schema.String.pipe(Schema.maxLength(40))
const Timezone = Schema.String.pipe(Schema.minLength(1), Schema.maxLength(100)).annotations({
  description: "IANA time zone, e.g. Europe/Berlin: the event keeps this zone (TZID) and a VTIMEZONE is written"
})
const IfMatch = Schema.String.pipe(Schema.minLength(1), Schema.maxLength(200)).annotations({
  description: "The etag you last read; if the event changed since, nothing is changed and Conflict is returned"
})
const Text = (max: number) => Schema.String.pipe(Schema.maxLength(max))

const CalendarOutput = Schema.Struct({
  id: Schema.String,
  name: Schema.String,
  components: Schema.Array(Schema.String),
  read_only: Schema.Boolean,
  color: Schema.NullOr(Schema.String),
  timezone: Schema.NullOr(Schema.String),
  url: Schema.String
})

const EventOutput = Schema.Struct({
  id: Schema.String,
  calendar_id: Schema.String,
  summary: Schema.NullOr(Schema.String),
  start: Schema.String.annotations({ description: "RFC 3339 with offset, or a date for all-day events" }),
  end: Schema.String.annotations({ description: "RFC 3339 with offset, or the (exclusive) end date for all-day events" }),
  all_day: Schema.Boolean,
  timezone: Schema.NullOr(Schema.String),
  location: Schema.NullOr(Schema.String),
  description: Schema.NullOr(Schema.String),
  rrule: Schema.NullOr(Schema.String),
  recurrence_id: Schema.NullOr(Schema.String.annotations({ description: "This occurrence's original start (RFC 3339), for recurring events" })),
  etag: Schema.NullOr(Schema.String),
  url: Schema.String
})
type EventOutput = typeof EventOutput.Type

// --- helpers -------------------------------------------------------------------------

const invalid = (message: string) => new InvalidArguments({ message })

const calendarUrl = (publicUrl: URL, calendar: Calendar) => webUrl(publicUrl, calendar.url, "apps/calendar/")

/** Nextcloud Calendar's link to an event: the base64 of the object's DAV path, and the occurrence's start. */
const eventUrl = (publicUrl: URL, object: CalendarObject, startMs: number, dateText: string) =>
  webUrl(
    publicUrl,
    object.url,
    `apps/calendar/timeGridDay/${dateText}/edit/sidebar/${Buffer.from(object.url.pathname).toString("base64")}/${Math.floor(startMs / 1000)}`
  )

const eventOutput = (
  publicUrl: URL,
  calendar: Calendar,
  object: CalendarObject,
  component: ICAL.Component,
  occurrence: { readonly start: ICAL.Time; readonly end: ICAL.Time; readonly recurrenceId: ICAL.Time | null } | null,
  rrule: string | null
): EventOutput | null => {
  const start = occurrence?.start ?? timeProp(component, "dtstart")
  if (start === null) return null
  const end = occurrence?.end ?? eventEnd(component, start)
  const s = outputTime(start)
  const e = outputTime(end)
  return {
    id: textProp(component, "uid") ?? "",
    calendar_id: calendar.id,
    summary: textProp(component, "summary"),
    start: s.value,
    end: e.value,
    all_day: s.allDay,
    timezone: s.timezone,
    location: textProp(component, "location"),
    description: textProp(component, "description"),
    rrule,
    recurrence_id: occurrence?.recurrenceId ? outputTime(occurrence.recurrenceId).value : null,
    etag: object.etag,
    url: eventUrl(publicUrl, object, s.ms, s.value.slice(0, 10))
  }
}

const masterOutput = (publicUrl: URL, calendar: Calendar, object: CalendarObject): EventOutput | null => {
  const vcalendar = safeParseCalendar(object.data)
  if (vcalendar === null) return null
  const set = componentsOf(vcalendar, "vevent")
  const component = set.master ?? set.overrides[0]
  return component === undefined ? null : eventOutput(publicUrl, calendar, object, component, null, set.master === null ? null : rruleText(set.master))
}

const parseRange = (start: string, end: string, maxDays: number) => {
  const s = parseInputTime(start)
  const e = parseInputTime(end)
  if (s === null || e === null) return Either.left(invalid("start and end must be RFC 3339 times with an offset (2026-12-24T18:00:00+01:00) or dates (2026-12-24)."))
  const ms = (t: NonNullable<typeof s>) => (t.kind === "date" ? Date.UTC(t.year, t.month - 1, t.day) : t.ms)
  const from = ms(s)
  const to = ms(e)
  if (to <= from) return Either.left(invalid("end must be after start."))
  if (to - from > maxDays * 86_400_000) return Either.left(invalid(`The range may span at most ${maxDays} days; ask for a shorter one.`))
  return Either.right({ from, to })
}

const parseRrule = (text: string): Either.Either<ICAL.Recur, InvalidArguments> => {
  const cleaned = text.trim().replace(/^RRULE:/i, "")
  try {
    const recur = ICAL.Recur.fromString(cleaned)
    if (!/(^|;)FREQ=/i.test(cleaned)) return Either.left(invalid("rrule needs FREQ, e.g. FREQ=WEEKLY;BYDAY=MO"))
    return Either.right(recur)
  } catch (error) {
    return Either.left(invalid(`rrule is not a valid RRULE (RFC 5545), e.g. FREQ=WEEKLY;BYDAY=MO: ${error instanceof Error ? error.message.slice(0, 100) : ""}`))
  }
}

interface TimesInput {
  readonly start: string
  readonly end?: string | undefined
  readonly all_day?: boolean | undefined
  readonly timezone?: string | null | undefined
}

/** DTSTART and DTEND for the given times: dates for all-day events, else instants placed in the zone. */
const buildTimes = (input: TimesInput, keepDurationMs: number | null): Either.Either<{ readonly start: ICAL.Time; readonly end: ICAL.Time }, InvalidArguments> => {
  const start = parseInputTime(input.start)
  if (start === null) return Either.left(invalid(`start "${input.start}" is neither an RFC 3339 time with an offset nor a date (YYYY-MM-DD).`))
  const allDay = input.all_day ?? start.kind === "date"
  const end = input.end === undefined ? null : parseInputTime(input.end)
  if (input.end !== undefined && end === null) return Either.left(invalid(`end "${input.end}" is neither an RFC 3339 time with an offset nor a date.`))
  if (allDay) {
    if (start.kind !== "date") return Either.left(invalid("An all-day event takes dates (YYYY-MM-DD) for start and end."))
    if (end !== null && end.kind !== "date") return Either.left(invalid("An all-day event takes dates (YYYY-MM-DD) for start and end."))
    const s = dateValue(start.year, start.month, start.day)
    let e: ICAL.Time
    if (end !== null && end.kind === "date") {
      e = dateValue(end.year, end.month, end.day)
      const cmp = e.compare(s)
      if (cmp < 0) return Either.left(invalid("end must not be before start."))
      if (cmp === 0) e.day += 1
    } else {
      e = s.clone()
      e.day += keepDurationMs === null ? 1 : Math.max(1, Math.round(keepDurationMs / 86_400_000))
    }
    e = ICAL.Time.fromData({ year: e.year, month: e.month, day: e.day, isDate: true })
    return Either.right({ start: s, end: e })
  }
  if (start.kind !== "instant") return Either.left(invalid("A timed event takes RFC 3339 times with an offset; use all_day: true for dates."))
  if (end !== null && end.kind !== "instant") return Either.left(invalid("end must be an RFC 3339 time with an offset like start."))
  const endMs = end !== null && end.kind === "instant" ? end.ms : start.ms + (keepDurationMs ?? 3_600_000)
  if (endMs < start.ms) return Either.left(invalid("end must not be before start."))
  const placement = placementOf(input.timezone ?? null, start.offsetMinutes)
  return Either.right({ start: instantAt(start.ms, placement), end: instantAt(endMs, placement) })
}

// --- list calendars ------------------------------------------------------------------

export const listCalendars = Tool.make({
  name: "nc_calendar_list_calendars",
  title: "List Calendars",
  description: "List your Nextcloud calendars: id, name, components (VEVENT for events, VTODO for tasks), read_only, color, timezone.",
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  scopes: ["calendar.read"],
  input: Schema.Struct({ limit: Schema.optional(Limit), cursor: Schema.optional(Cursor) }),
  output: Tool.response(["ok", "error"], {
    calendars: Schema.optional(Schema.Array(CalendarOutput)),
    next_cursor: Schema.optional(Schema.NullOr(Schema.String))
  }),
  handler: (input, { grant }) =>
    Effect.gen(function* () {
      const account = yield* davAccountOf(grant)
      const caldav = yield* CalDav
      const { publicUrl } = yield* NextcloudConfig
      const calendars = yield* caldav.calendars(account).pipe(whileTrying("list your calendars"))
      const page = yield* pageOf(calendars, {}, input.limit, input.cursor)
      return {
        status: "ok",
        message: `${calendars.length} calendar(s)${page.nextCursor === null ? "" : "; more follow: pass next_cursor as cursor"}.`,
        calendars: page.items.map((c) => ({
          id: c.id,
          name: c.name,
          components: c.components,
          read_only: c.readOnly,
          color: c.color,
          timezone: c.timezone,
          url: calendarUrl(publicUrl, c)
        })),
        next_cursor: page.nextCursor
      } as const
    })
})

// --- list events ---------------------------------------------------------------------

/** The longest range one listing expands. */
export const MAX_LIST_DAYS = 400

export const ListEventsInput = Schema.Struct({
  start: TimeText.annotations({ description: "Range start: RFC 3339 with offset, or a date" }),
  end: TimeText.annotations({ description: `Range end (exclusive), at most ${MAX_LIST_DAYS} days after start` }),
  calendar_id: Schema.optional(CalendarId.annotations({ description: "Only this calendar (default: every calendar holding events)" })),
  query: Schema.optional(Text(200).annotations({ description: "Only events whose summary, location or description contains this (case-insensitive)" })),
  limit: Schema.optional(Limit),
  cursor: Schema.optional(Cursor)
})

export const listEvents = Tool.make({
  name: "nc_calendar_list_events",
  title: "List Events",
  description:
    "List the events between start and end, earliest first. Recurring events are expanded: each occurrence inside the range is its own item " +
    "with recurrence_id (EXDATEs and changed occurrences honoured). Page with limit and next_cursor.",
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  scopes: ["calendar.read"],
  input: ListEventsInput,
  output: Tool.response(["ok", "error"], {
    events: Schema.optional(Schema.Array(EventOutput)),
    next_cursor: Schema.optional(Schema.NullOr(Schema.String)),
    truncated: Schema.optional(Schema.Boolean.annotations({ description: "A rule produced too many occurrences to expand them all" }))
  }),
  handler: (input, { grant }) =>
    Effect.gen(function* () {
      const range = yield* parseRange(input.start, input.end, MAX_LIST_DAYS)
      yield* ensureTimezones
      const account = yield* davAccountOf(grant)
      const caldav = yield* CalDav
      const { publicUrl } = yield* NextcloudConfig
      const calendars = yield* calendarsFor(caldav, account, "VEVENT", input.calendar_id).pipe(whileTrying("list your calendars"))
      const events: Array<EventOutput & { readonly ms: number }> = []
      let truncated = false
      const needle = input.query?.toLowerCase()
      for (const calendar of calendars) {
        const objects = yield* caldav
          .query(account, calendar, "VEVENT", { range: { startMs: range.from, endMs: range.to } })
          .pipe(whileTrying(`list the events of calendar ${calendar.id}`))
        for (const object of objects) {
          const vcalendar = safeParseCalendar(object.data)
          if (vcalendar === null) continue
          const set = componentsOf(vcalendar, "vevent")
          const rrule = set.master === null ? null : rruleText(set.master)
          const expanded = occurrencesIn(set, range.from, range.to)
          truncated ||= expanded.truncated
          for (const occurrence of expanded.occurrences) {
            const out = eventOutput(publicUrl, calendar, object, occurrence.component, occurrence, rrule)
            if (out === null) continue
            if (needle !== undefined && ![out.summary, out.location, out.description].some((t) => t?.toLowerCase().includes(needle))) continue
            events.push({ ...out, ms: outputTime(occurrence.start).ms })
          }
        }
      }
      events.sort((a, b) => a.ms - b.ms || a.id.localeCompare(b.id))
      const page = yield* pageOf(events, { s: input.start, e: input.end, c: input.calendar_id, q: input.query }, input.limit, input.cursor)
      return {
        status: "ok",
        message:
          `${events.length} event(s) between ${input.start} and ${input.end}` +
          `${page.nextCursor === null ? "" : `; showing ${page.items.length}, more follow: pass next_cursor as cursor`}.` +
          (truncated ? " Some recurring events have more occurrences than are expanded; ask for a shorter range." : ""),
        events: page.items.map(({ ms: _ms, ...event }) => event),
        next_cursor: page.nextCursor,
        truncated
      } as const
    })
})

// --- get event -----------------------------------------------------------------------

export const GetEventInput = Schema.Struct({ calendar_id: CalendarId, id: EventId })

export const getEvent = Tool.make({
  name: "nc_calendar_get_event",
  title: "Get Event",
  description: "Read one event (its series for a recurring one, with rrule) and its etag.",
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  scopes: ["calendar.read"],
  input: GetEventInput,
  output: Tool.response(["ok", "error"], { event: Schema.optional(EventOutput) }),
  handler: (input, { grant }) =>
    Effect.gen(function* () {
      yield* ensureTimezones
      const account = yield* davAccountOf(grant)
      const caldav = yield* CalDav
      const { publicUrl } = yield* NextcloudConfig
      const calendar = yield* oneCalendar(account, input.calendar_id, "VEVENT").pipe(whileTrying("find the calendar"))
      const found = yield* findByUid(caldav, account, calendar, "VEVENT", input.id, "event").pipe(whileTrying(`read event ${input.id}`))
      const event = masterOutput(publicUrl, calendar, found.object)
      if (event === null) return yield* new NotFound({ message: `Event ${input.id} has no start.` })
      return { status: "ok", message: `Event "${event.summary ?? ""}" from ${event.start} to ${event.end}.`, event } as const
    })
})

// --- create event --------------------------------------------------------------------

export const CreateEventInput = Schema.Struct({
  calendar_id: CalendarId,
  summary: Text(1000).pipe(Schema.minLength(1)),
  start: TimeText.annotations({ description: "RFC 3339 with offset (2026-12-24T18:00:00+01:00), or a date for all-day events" }),
  end: Schema.optional(TimeText.annotations({ description: "Default: one hour after start; for all-day events the day after the last day (a date equal to start means one day)" })),
  all_day: Schema.optional(Schema.Boolean.annotations({ description: "Default: true when start is a date" })),
  timezone: Schema.optional(Timezone),
  location: Schema.optional(Text(1000)),
  description: Schema.optional(Text(100_000)),
  rrule: Schema.optional(Text(500).annotations({ description: "RFC 5545 recurrence rule, e.g. FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10" }))
})

export const createEvent = Tool.make({
  name: "nc_calendar_create_event",
  title: "Create Event",
  description:
    "Create an event. Times keep the offset you give; with timezone the event is written in that zone (with its VTIMEZONE, so every client shows it right). " +
    "All-day events take dates. Returns the event with its id and etag.",
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  scopes: ["calendar.write"],
  input: CreateEventInput,
  output: Tool.response(["created", "error"], { event: Schema.optional(EventOutput) }),
  handler: (input, { grant }) =>
    Effect.gen(function* () {
      yield* ensureTimezones
      yield* checkTimezone(input.timezone)
      const times = yield* buildTimes(input, null)
      const recur = input.rrule === undefined ? null : yield* parseRrule(input.rrule)
      const account = yield* davAccountOf(grant)
      const caldav = yield* CalDav
      const { publicUrl } = yield* NextcloudConfig
      const calendar = yield* oneCalendar(account, input.calendar_id, "VEVENT").pipe(whileTrying("find the calendar"))
      yield* writable(calendar)
      const now = utcNow(yield* Clock.currentTimeMillis)
      const uid = randomUUID()
      const data = newCalendarObject("vevent", [
        textProperty("uid", uid),
        valueProperty("dtstamp", now),
        valueProperty("created", now),
        valueProperty("last-modified", now),
        timeProperty("dtstart", times.start),
        timeProperty("dtend", times.end),
        textProperty("summary", input.summary),
        ...(input.location === undefined ? [] : [textProperty("location", input.location)]),
        ...(input.description === undefined ? [] : [textProperty("description", input.description)]),
        ...(recur === null ? [] : [valueProperty("rrule", recur)])
      ])
      const created = yield* caldav.create(account, calendar, uid, data).pipe(writeRefusals("event", calendar.id, null), whileTrying("create the event"))
      const event = masterOutput(publicUrl, calendar, created)
      if (event === null) return yield* new NotFound({ message: "The event was stored, but Nextcloud answered it unreadably." })
      return { status: "created", message: `Created "${input.summary}" from ${event.start} to ${event.end} (id ${uid}).`, event } as const
    })
})

// --- update event --------------------------------------------------------------------

const RecurrenceId = TimeText.annotations({
  description:
    "Only this occurrence of a recurring event: its recurrence_id from nc_calendar_list_events (the original start, RFC 3339, or a date for all-day series)"
})

export const UpdateEventInput = Schema.Struct({
  calendar_id: CalendarId,
  id: EventId,
  recurrence_id: Schema.optional(RecurrenceId),
  if_match: Schema.optional(IfMatch),
  summary: Schema.optional(Text(1000)),
  start: Schema.optional(TimeText),
  end: Schema.optional(TimeText),
  all_day: Schema.optional(Schema.Boolean),
  timezone: Schema.optional(Timezone),
  location: Schema.optional(Text(1000).annotations({ description: "\"\" removes it" })),
  description: Schema.optional(Text(100_000).annotations({ description: "\"\" removes it" })),
  rrule: Schema.optional(Text(500).annotations({ description: "\"\" makes the event non-recurring" }))
})

/** The occurrence a caller names by `recurrence_id`: an instant or, for all-day series, a date. */
const parseRecurrenceId = (text: string): Either.Either<{ readonly ms: number } | { readonly date: string }, InvalidArguments> => {
  const parsed = parseInputTime(text)
  if (parsed === null) return Either.left(invalid(`recurrence_id "${text}" is neither an RFC 3339 time with an offset nor a date: pass the recurrence_id nc_calendar_list_events gave.`))
  return Either.right(parsed.kind === "instant" ? { ms: parsed.ms } : { date: text.slice(0, 10) })
}

const sameOccurrence = (recurrenceId: ICAL.Time, wanted: { readonly ms: number } | { readonly date: string }) => {
  const at = outputTime(recurrenceId)
  return "ms" in wanted ? !at.allDay && at.ms === wanted.ms : at.allDay && at.value === wanted.date
}

/** The ordinal (file order among the object's VEVENTs) of the override for this occurrence, if it has one. */
const overrideOrdinal = (vcalendar: ICAL.Component, wanted: { readonly ms: number } | { readonly date: string }): number | null => {
  const all = vcalendar.getAllSubcomponents("vevent")
  const at = all.findIndex((c) => {
    const rid = timeProp(c, "recurrence-id")
    return rid !== null && sameOccurrence(rid, wanted)
  })
  return at < 0 ? null : at
}

/**
 * A new overridden instance for one occurrence of `master`: a copy of the
 * master (attendees, alarms and other properties included) without its
 * recurrence rules, starting at the occurrence, with RECURRENCE-ID written as
 * the master's DTSTART is (same TZID or DATE).
 */
const newOverride = (master: ICAL.Component, occurrence: { readonly start: ICAL.Time; readonly end: ICAL.Time }): ICAL.Component => {
  const copy = new ICAL.Component(structuredClone(master.toJSON()))
  for (const name of ["rrule", "rdate", "exdate", "exrule", "dtstart", "dtend", "duration", "recurrence-id"]) copy.removeAllProperties(name)
  copy.addProperty(timeProperty("recurrence-id", occurrence.start))
  copy.addProperty(timeProperty("dtstart", occurrence.start))
  copy.addProperty(timeProperty("dtend", occurrence.end))
  return copy
}

/** RFC 5546 §2.1.4: a change to when (or where) an event happens is a new revision, so SEQUENCE goes up. */
const nextSequence = (component: ICAL.Component): PropertyChange => {
  const current = component.getFirstPropertyValue("sequence")
  const n = typeof current === "number" && Number.isFinite(current) ? current : Number.parseInt(String(current ?? "0"), 10) || 0
  return { name: "sequence", properties: [valueProperty("sequence", n + 1)] }
}

export const updateEvent = Tool.make({
  name: "nc_calendar_update_event",
  title: "Update Event",
  description:
    "Change an event: its whole series when recurring, or with recurrence_id only that occurrence. Give only the fields to change; everything else in the event — attendees, alarms, " +
    "properties of other apps — is kept exactly. Moving start keeps the duration unless end is given. Pass if_match (the etag you read) to avoid overwriting someone else's change.",
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
  scopes: ["calendar.write"],
  input: UpdateEventInput,
  output: Tool.response(["updated", "error"], { event: Schema.optional(EventOutput) }),
  handler: (input, { grant }) =>
    Effect.gen(function* () {
      const { calendar_id, id, if_match, recurrence_id, ...changes } = input
      if (Object.keys(changes).length === 0) {
        return yield* invalid("Nothing to change: give summary, start, end, all_day, timezone, location, description and/or rrule.")
      }
      if (recurrence_id !== undefined && input.rrule !== undefined) {
        return yield* invalid("One occurrence has no rule of its own: change rrule on the whole series (without recurrence_id).")
      }
      const occurrenceWanted = recurrence_id === undefined ? null : yield* parseRecurrenceId(recurrence_id)
      yield* ensureTimezones
      yield* checkTimezone(input.timezone)
      const recur = input.rrule === undefined || input.rrule === "" ? null : yield* parseRrule(input.rrule)
      const account = yield* davAccountOf(grant)
      const caldav = yield* CalDav
      const { publicUrl } = yield* NextcloudConfig
      const calendar = yield* oneCalendar(account, calendar_id, "VEVENT").pipe(whileTrying("find the calendar"))
      yield* writable(calendar)
      const found = yield* findByUid(caldav, account, calendar, "VEVENT", id, "event").pipe(whileTrying(`read event ${id}`))
      yield* checkIfMatch(found.object, if_match, `event ${id}`)
      const master = componentsOf(found.vcalendar, "vevent").master

      // The component to change: the master, an existing override, or a new override of one occurrence.
      let data = found.object.data
      let target: EditTarget = "master"
      let component: ICAL.Component | null = master
      if (occurrenceWanted !== null) {
        const existing = overrideOrdinal(found.vcalendar, occurrenceWanted)
        if (existing !== null) {
          target = { ordinal: existing }
          component = found.vcalendar.getAllSubcomponents("vevent")[existing] ?? null
        } else {
          const occurrence = master === null ? null : originalOccurrence(master, occurrenceWanted)
          if (master === null || occurrence === null) {
            return yield* new NotFound({ message: `Event ${id} has no occurrence at ${recurrence_id}: pass a recurrence_id from nc_calendar_list_events.` })
          }
          const override = newOverride(master, occurrence)
          const withOverride = addComponent(data, override)
          if (withOverride === null) return yield* invalid(`Event ${id} could not be edited.`)
          data = withOverride
          target = { ordinal: found.vcalendar.getAllSubcomponents("vevent").length }
          component = override
        }
      }
      const oldStart = component === null ? null : timeProp(component, "dtstart")
      if (component === null || oldStart === null) {
        return yield* invalid(`Event ${id} holds only changed occurrences of a series kept elsewhere; change them one by one with recurrence_id.`)
      }
      const edits: Array<PropertyChange> = []
      const timeFields = input.start !== undefined || input.end !== undefined || input.all_day !== undefined || input.timezone !== undefined
      if (timeFields) {
        const before = outputTime(oldStart)
        const oldEnd = eventEnd(component, oldStart)
        const switching = input.all_day !== undefined && input.all_day !== before.allDay
        if (switching && input.start === undefined) return yield* invalid("Changing all_day needs start (a date for all-day, a time with offset otherwise).")
        const timezone = input.timezone ?? (before.timezone !== null && !isUtcName(before.timezone) && isKnownTimezone(before.timezone) ? before.timezone : null)
        const startText = input.start ?? (timezone !== null && !before.allDay ? new Date(before.ms).toISOString().replace(".000Z", "Z") : before.value)
        const endText = input.end ?? (input.start === undefined && input.timezone !== undefined && !before.allDay ? new Date(outputTime(oldEnd).ms).toISOString().replace(".000Z", "Z") : undefined)
        const times = yield* buildTimes(
          { start: startText, end: endText, all_day: input.all_day ?? before.allDay, timezone },
          switching ? null : outputTime(oldEnd).ms - before.ms
        )
        edits.push({ name: "dtstart", properties: [timeProperty("dtstart", times.start)] })
        edits.push({ name: "dtend", properties: [timeProperty("dtend", times.end)] })
        if (component.hasProperty("duration")) edits.push({ name: "duration", properties: [] })
      }
      const text = (name: string, value: string | undefined) => {
        if (value !== undefined) edits.push({ name, properties: value === "" ? [] : [textProperty(name, value)] })
      }
      text("summary", input.summary)
      text("location", input.location)
      text("description", input.description)
      if (input.rrule !== undefined) edits.push({ name: "rrule", properties: recur === null ? [] : [valueProperty("rrule", recur)] })
      if (timeFields || input.rrule !== undefined || input.location !== undefined) edits.push(nextSequence(component))
      const now = utcNow(yield* Clock.currentTimeMillis)
      edits.push({ name: "dtstamp", properties: [valueProperty("dtstamp", now)] }, { name: "last-modified", properties: [valueProperty("last-modified", now)] })
      const edited = editObject(data, "vevent", edits, target)
      if (edited === null) return yield* invalid(`Event ${id} could not be edited.`)
      const stored = yield* caldav
        .update(account, found.object.url, edited, found.object.etag)
        .pipe(writeRefusals("event", calendar.id, id), whileTrying(`update event ${id}`))
      const event = occurrenceWanted === null ? masterOutput(publicUrl, calendar, stored) : occurrenceOutput(publicUrl, calendar, stored, occurrenceWanted)
      if (event === null) return yield* new NotFound({ message: `Event ${id} was stored, but Nextcloud answered it unreadably.` })
      const which = event.recurrence_id === null ? "" : ` (the occurrence of ${event.recurrence_id})`
      return { status: "updated", message: `Updated "${event.summary ?? ""}"${which} (${event.start} – ${event.end}); new etag ${event.etag}.`, event } as const
    })
})

/** One overridden occurrence of a stored object, as an event. */
const occurrenceOutput = (
  publicUrl: URL,
  calendar: Calendar,
  object: CalendarObject,
  wanted: { readonly ms: number } | { readonly date: string }
): EventOutput | null => {
  const vcalendar = safeParseCalendar(object.data)
  if (vcalendar === null) return null
  const ordinal = overrideOrdinal(vcalendar, wanted)
  const component = ordinal === null ? undefined : vcalendar.getAllSubcomponents("vevent")[ordinal]
  if (component === undefined) return null
  const start = timeProp(component, "dtstart")
  const recurrenceId = timeProp(component, "recurrence-id")
  if (start === null) return null
  const master = componentsOf(vcalendar, "vevent").master
  return eventOutput(publicUrl, calendar, object, component, { start, end: eventEnd(component, start), recurrenceId }, master === null ? null : rruleText(master))
}

// --- delete event --------------------------------------------------------------------

export const DeleteEventInput = Schema.Struct({
  calendar_id: CalendarId,
  id: EventId,
  recurrence_id: Schema.optional(RecurrenceId),
  if_match: Schema.optional(IfMatch)
})

export const deleteEvent = Tool.make({
  name: "nc_calendar_delete_event",
  title: "Delete Event",
  description:
    "Delete an event: its whole series when recurring, or with recurrence_id only that occurrence (an EXDATE is added; the rest of the series stays as it was).",
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
  scopes: ["calendar.write"],
  input: DeleteEventInput,
  output: Tool.response(["deleted", "error"], { id: Schema.optional(Schema.String), calendar_id: Schema.optional(Schema.String) }),
  handler: (input, { grant }) =>
    Effect.gen(function* () {
      const occurrenceWanted = input.recurrence_id === undefined ? null : yield* parseRecurrenceId(input.recurrence_id)
      yield* ensureTimezones
      const account = yield* davAccountOf(grant)
      const caldav = yield* CalDav
      const calendar = yield* oneCalendar(account, input.calendar_id, "VEVENT").pipe(whileTrying("find the calendar"))
      yield* writable(calendar)
      const found = yield* findByUid(caldav, account, calendar, "VEVENT", input.id, "event").pipe(whileTrying(`find event ${input.id}`))
      yield* checkIfMatch(found.object, input.if_match, `event ${input.id}`)
      if (occurrenceWanted === null) {
        yield* caldav.remove(account, found.object.url, found.object.etag).pipe(writeRefusals("event", calendar.id, input.id), whileTrying(`delete event ${input.id}`))
        return { status: "deleted", message: `Deleted event ${input.id} from calendar ${calendar.id}.`, id: input.id, calendar_id: calendar.id } as const
      }
      const now = utcNow(yield* Clock.currentTimeMillis)
      const edited = yield* withoutOccurrence(found.object.data, found.vcalendar, occurrenceWanted, now, input.id, input.recurrence_id ?? "")
      yield* caldav
        .update(account, found.object.url, edited, found.object.etag)
        .pipe(writeRefusals("event", calendar.id, input.id), whileTrying(`delete an occurrence of event ${input.id}`))
      return {
        status: "deleted",
        message: `Deleted the occurrence of ${input.recurrence_id} of event ${input.id}; the rest of the series stays.`,
        id: input.id,
        calendar_id: calendar.id
      } as const
    })
})

/**
 * The object without one occurrence: its override (if any) taken out and, when
 * the master's rule produces it, an EXDATE written as the master's DTSTART is.
 */
const withoutOccurrence = (
  data: string,
  vcalendar: ICAL.Component,
  wanted: { readonly ms: number } | { readonly date: string },
  now: ICAL.Time,
  id: string,
  recurrenceId: string
): Effect.Effect<string, NotFound | InvalidArguments> => {
  const master = componentsOf(vcalendar, "vevent").master
  const ordinal = overrideOrdinal(vcalendar, wanted)
  const original = master === null ? null : originalOccurrence(master, wanted)
  if (ordinal === null && original === null) {
    return Effect.fail(new NotFound({ message: `Event ${id} has no occurrence at ${recurrenceId} (already deleted, or not in the series).` }))
  }
  let out: string | null = ordinal === null ? data : removeComponent(data, "vevent", ordinal)
  if (out !== null && original !== null && master !== null) {
    out = editObject(out, "vevent", [
      { name: "exdate", properties: [timeProperty("exdate", original.start)], append: true },
      nextSequence(master),
      { name: "dtstamp", properties: [valueProperty("dtstamp", now)] },
      { name: "last-modified", properties: [valueProperty("last-modified", now)] }
    ])
  }
  if (out === null) return Effect.fail(invalid(`Event ${id} could not be edited.`))
  if (safeParseCalendar(out)?.getAllSubcomponents("vevent").length === 0) {
    return Effect.fail(invalid(`That is the only occurrence event ${id} holds here: delete the event instead (without recurrence_id).`))
  }
  return Effect.succeed(out)
}

// --- free time -----------------------------------------------------------------------

export const MAX_FREE_TIME_DAYS = 62
const DAYS = ["SU", "MO", "TU", "WE", "TH", "FR", "SA"] as const
const ClockTime = Schema.String.pipe(Schema.pattern(/^([01]\d|2[0-3]):[0-5]\d$/))

export const FindFreeTimeInput = Schema.Struct({
  start: TimeText.annotations({ description: "Search from (RFC 3339 with offset, or a date)" }),
  end: TimeText.annotations({ description: `Search until (exclusive), at most ${MAX_FREE_TIME_DAYS} days after start` }),
  timezone: Timezone.annotations({ description: "IANA zone of the working hours and of the slots, e.g. Europe/Berlin" }),
  work_start: Schema.optional(ClockTime.annotations({ description: "Working day start, HH:MM (default 09:00)" })),
  work_end: Schema.optional(ClockTime.annotations({ description: "Working day end, HH:MM (default 17:00)" })),
  work_days: Schema.optional(Schema.Array(Schema.Literal(...DAYS)).annotations({ description: "Working days (default MO–FR)" })),
  min_duration_minutes: Schema.optional(Schema.Number.pipe(Schema.int(), Schema.between(5, 1440)).annotations({ description: "Shortest useful slot (default 30)" })),
  calendar_ids: Schema.optional(Schema.Array(CalendarId).pipe(Schema.maxItems(50)).annotations({ description: "Calendars that count as busy (default: all holding events)" })),
  limit: Schema.optional(Limit),
  cursor: Schema.optional(Cursor)
})

const SlotOutput = Schema.Struct({ start: Schema.String, end: Schema.String, duration_minutes: Schema.Number })

/** Wall time in `zone` → epoch ms. */
const wallMs = (zone: ICAL.Timezone, year: number, month: number, day: number, hhmm: string): number => {
  const [hour, minute] = hhmm.split(":").map(Number) as [number, number]
  const t = ICAL.Time.fromData({ year, month, day, hour, minute, second: 0 }, zone)
  return t.toUnixTime() * 1000
}

/** A time's instant, dates and floating times read in `zone`. */
const msIn = (t: ICAL.Time, zone: ICAL.Timezone): number => {
  const out = outputTime(t)
  if (!out.allDay && out.timezone !== null) return out.ms
  return ICAL.Time.fromData({ year: t.year, month: t.month, day: t.day, hour: t.isDate ? 0 : t.hour, minute: t.isDate ? 0 : t.minute, second: t.isDate ? 0 : t.second }, zone).toUnixTime() * 1000
}

export const findFreeTime = Tool.make({
  name: "nc_calendar_find_free_time",
  title: "Find Free Time",
  description:
    "Find free slots within working hours across your calendars: busy time is every event (recurrences expanded) that is not transparent or cancelled. " +
    "Working hours and slots are in the timezone you give.",
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  scopes: ["calendar.read"],
  input: FindFreeTimeInput,
  output: Tool.response(["ok", "error"], { slots: Schema.optional(Schema.Array(SlotOutput)), next_cursor: Schema.optional(Schema.NullOr(Schema.String)) }),
  handler: (input, { grant }) =>
    Effect.gen(function* () {
      yield* ensureTimezones
      yield* checkTimezone(input.timezone)
      const range = yield* parseRange(input.start, input.end, MAX_FREE_TIME_DAYS)
      const workStart = input.work_start ?? "09:00"
      const workEnd = input.work_end ?? "17:00"
      if (workEnd <= workStart) return yield* invalid("work_end must be after work_start.")
      const zone = isUtcName(input.timezone) ? ICAL.Timezone.utcTimezone : (ICAL.TimezoneService.get(input.timezone) as ICAL.Timezone)
      const days = new Set(input.work_days ?? ["MO", "TU", "WE", "TH", "FR"])
      const minMs = (input.min_duration_minutes ?? 30) * 60_000
      const account = yield* davAccountOf(grant)
      const caldav = yield* CalDav
      const all = yield* calendarsFor(caldav, account, "VEVENT", undefined).pipe(whileTrying("list your calendars"))
      const wanted = input.calendar_ids === undefined ? all : all.filter((c) => input.calendar_ids?.includes(c.id))
      const unknown = (input.calendar_ids ?? []).filter((id) => !all.some((c) => c.id === id))
      if (unknown.length > 0) return yield* new NotFound({ message: `No calendar with id ${unknown.join(", ")}.` })
      const busy: Array<readonly [number, number]> = []
      for (const calendar of wanted) {
        const objects = yield* caldav
          .query(account, calendar, "VEVENT", { range: { startMs: range.from - 86_400_000, endMs: range.to + 86_400_000 } })
          .pipe(whileTrying(`read the events of calendar ${calendar.id}`))
        for (const object of objects) {
          const vcalendar = safeParseCalendar(object.data)
          if (vcalendar === null) continue
          for (const o of occurrencesIn(componentsOf(vcalendar, "vevent"), range.from - 86_400_000, range.to + 86_400_000).occurrences) {
            if (textProp(o.component, "transp")?.toUpperCase() === "TRANSPARENT") continue
            if (textProp(o.component, "status")?.toUpperCase() === "CANCELLED") continue
            busy.push([msIn(o.start, zone), msIn(o.end, zone)])
          }
        }
      }
      busy.sort((a, b) => a[0] - b[0])
      const slots: Array<{ start: number; end: number }> = []
      const first = ICAL.Time.fromJSDate(new Date(range.from), true).convertToZone(zone)
      const day = ICAL.Time.fromData({ year: first.year, month: first.month, day: first.day, isDate: true })
      for (let guard = 0; guard < MAX_FREE_TIME_DAYS + 2; guard++, day.day += 1) {
        const d = ICAL.Time.fromData({ year: day.year, month: day.month, day: day.day, isDate: true })
        const windowStart = Math.max(range.from, wallMs(zone, d.year, d.month, d.day, workStart))
        const windowEnd = Math.min(range.to, wallMs(zone, d.year, d.month, d.day, workEnd))
        if (wallMs(zone, d.year, d.month, d.day, "00:00") >= range.to) break
        if (!days.has(DAYS[d.dayOfWeek() - 1] as (typeof DAYS)[number]) || windowEnd <= windowStart) continue
        let cursor = windowStart
        for (const [s, e] of busy) {
          if (e <= cursor || s >= windowEnd) continue
          if (s - cursor >= minMs) slots.push({ start: cursor, end: s })
          cursor = Math.max(cursor, e)
          if (cursor >= windowEnd) break
        }
        if (windowEnd - cursor >= minMs) slots.push({ start: cursor, end: windowEnd })
      }
      const placement = zone === ICAL.Timezone.utcTimezone ? ({ kind: "utc" } as const) : ({ kind: "zone", zone } as const)
      const out = slots.map((s) => ({
        start: outputTime(instantAt(s.start, placement)).value,
        end: outputTime(instantAt(s.end, placement)).value,
        duration_minutes: Math.round((s.end - s.start) / 60_000)
      }))
      const page = yield* pageOf(out, { ...input, limit: undefined, cursor: undefined }, input.limit, input.cursor)
      return {
        status: "ok",
        message:
          out.length === 0
            ? "No free slot of that length within working hours in this range."
            : `${out.length} free slot(s)${page.nextCursor === null ? "" : `; showing ${page.items.length}, more follow: pass next_cursor as cursor`}.`,
        slots: page.items,
        next_cursor: page.nextCursor
      } as const
    })
})

export const calendarTools = [listCalendars, listEvents, getEvent, createEvent, updateEvent, deleteEvent, findFreeTime] as const
