/**
 * iCalendar for the CalDAV tools, with ical.js (RFC 5545): reading events and
 * tasks, writing new ones, changing existing ones with the smallest edit, and
 * expanding recurrences.
 *
 * - Times. Inputs are RFC 3339 instants with an offset, or dates. A timed
 *   value with an IANA `timezone` is written as local time with that TZID and
 *   the zone's VTIMEZONE (from `@nextcloud/timezones`, Nextcloud's own
 *   definitions); without one, `Z` / `+00:00` is written in UTC and any other
 *   offset as local time in a fixed-offset zone (`Etc/GMT-1` for +01:00) with
 *   its VTIMEZONE, so the offset reads back as given. The instant is never
 *   shifted. All-day values are DATEs.
 * - Changes. An update replaces only the content lines of the properties it
 *   changes (serialised and folded by ical.js), plus DTSTAMP and
 *   LAST-MODIFIED; every other line of the object — unknown properties and
 *   parameters, VALARMs, ATTENDEEs, other components, their order and their
 *   folding — is kept byte for byte.
 * - Recurrence. ical.js's iterator from DTSTART, with RDATE, EXDATE and
 *   RECURRENCE-ID overrides, bounded by `MAX_EXPANDED_STEPS` per event.
 */
import ICAL from "ical.js"
import { Effect } from "effect"

// --- time zones ----------------------------------------------------------------

let timezonesLoaded: Promise<void> | null = null
const ianaIds = new Set<string>()

/**
 * Registers Nextcloud's time zone definitions with ical.js, once per process.
 * Loaded on first use (the data is large). The library announces its data
 * version with `console.debug`, which would write to stdout, the MCP stdio
 * channel: it is silenced for that call.
 */
export const ensureTimezones: Effect.Effect<void> = Effect.promise(() => {
  timezonesLoaded ??= import("@nextcloud/timezones").then(({ getTimezoneManager }) => {
    const manager = getTimezoneManager()
    const debug = console.debug
    console.debug = () => undefined
    try {
      manager.registerDefaultTimezones()
    } finally {
      console.debug = debug
    }
    for (const id of manager.listAllTimezones(true)) {
      const zone = manager.getTimezoneForId(id)
      if (zone === null || id === "UTC") continue
      ianaIds.add(id)
      if (!ICAL.TimezoneService.has(id)) {
        const definition = zone.toICALJs()
        // An alias gets its target's rules under its own name.
        definition.updatePropertyWithValue("tzid", id)
        ICAL.TimezoneService.register(new ICAL.Timezone(definition), id)
      }
    }
  })
  return timezonesLoaded
})

const UTC_NAMES = new Set(["UTC", "Etc/UTC", "Etc/GMT", "GMT", "Z", "Etc/Zulu", "Etc/UCT", "UCT", "Etc/GMT+0", "Etc/GMT-0", "GMT0"])

/** Whether `id` is a time zone this server can write (call `ensureTimezones` first). */
export const isKnownTimezone = (id: string): boolean => UTC_NAMES.has(id) || ianaIds.has(id)

export const isUtcName = (id: string): boolean => UTC_NAMES.has(id)

/** A zone of a fixed offset: `Etc/GMT-1` for +01:00 (IANA's inverted sign), `UTC+0530` for the rest. */
export const fixedOffsetZone = (offsetMinutes: number): ICAL.Timezone => {
  const sign = offsetMinutes < 0 ? "-" : "+"
  const abs = Math.abs(offsetMinutes)
  const hh = String(Math.floor(abs / 60)).padStart(2, "0")
  const mm = String(abs % 60).padStart(2, "0")
  const tzid = abs % 60 === 0 ? `Etc/GMT${offsetMinutes > 0 ? "-" : "+"}${abs / 60}` : `UTC${sign}${hh}${mm}`
  const existing = ICAL.TimezoneService.get(tzid)
  if (existing !== null && existing !== undefined) return existing
  const vtimezone = new ICAL.Component("vtimezone")
  vtimezone.addPropertyWithValue("tzid", tzid)
  const standard = new ICAL.Component("standard")
  const offset = ICAL.UtcOffset.fromSeconds(offsetMinutes * 60)
  standard.addPropertyWithValue("tzoffsetfrom", offset)
  standard.addPropertyWithValue("tzoffsetto", offset)
  standard.addPropertyWithValue("tzname", `${sign}${hh}${abs % 60 === 0 ? "" : mm}`)
  standard.addPropertyWithValue("dtstart", ICAL.Time.fromDateTimeString("1970-01-01T00:00:00"))
  vtimezone.addSubcomponent(standard)
  const zone = new ICAL.Timezone(vtimezone)
  ICAL.TimezoneService.register(zone, tzid)
  return zone
}

/** The VTIMEZONE of a registered zone, as iCalendar text (CRLF, folded). */
const vtimezoneText = (tzid: string): string | null => {
  const zone = ICAL.TimezoneService.get(tzid)
  return zone === null || zone === undefined || zone.component === null ? null : zone.component.toString()
}

// --- input times ---------------------------------------------------------------------

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|z|[+-]\d{2}:\d{2})$/

export type InputTime =
  | { readonly kind: "date"; readonly year: number; readonly month: number; readonly day: number }
  | { readonly kind: "instant"; readonly ms: number; readonly offsetMinutes: number }

const validDate = (y: number, m: number, d: number) => {
  const date = new Date(Date.UTC(y, m - 1, d))
  return date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d
}

/** An RFC 3339 instant with an offset, or a date; null when it is neither (or not a real day/time). */
export const parseInputTime = (text: string): InputTime | null => {
  const date = DATE.exec(text)
  if (date !== null) {
    const [y, m, d] = [Number(date[1]), Number(date[2]), Number(date[3])]
    return validDate(y, m, d) && y >= 1 ? { kind: "date", year: y, month: m, day: d } : null
  }
  const dt = DATE_TIME.exec(text)
  if (dt === null) return null
  const [y, mo, d, h, mi, s] = [1, 2, 3, 4, 5, 6].map((i) => Number(dt[i] ?? 0)) as [number, number, number, number, number, number]
  if (!validDate(y, mo, d) || h > 23 || mi > 59 || s > 59 || y < 1) return null
  const zone = dt[7] ?? "Z"
  const offsetMinutes =
    zone === "Z" || zone === "z" ? 0 : (zone.startsWith("-") ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6)))
  if (Math.abs(offsetMinutes) >= 24 * 60) return null
  return { kind: "instant", ms: Date.UTC(y, mo - 1, d, h, mi, s) - offsetMinutes * 60_000, offsetMinutes }
}

/** Where a timed value is written: a TZID (with its VTIMEZONE), or UTC. */
export type Placement = { readonly kind: "utc" } | { readonly kind: "zone"; readonly zone: ICAL.Timezone }

/** The placement of a timed input: the given IANA zone, else UTC for a zero offset, else a fixed-offset zone. */
export const placementOf = (timezone: string | null, offsetMinutes: number): Placement => {
  if (timezone !== null) {
    if (isUtcName(timezone)) return { kind: "utc" }
    const zone = ICAL.TimezoneService.get(timezone)
    if (zone !== null && zone !== undefined) return { kind: "zone", zone }
  }
  return offsetMinutes === 0 ? { kind: "utc" } : { kind: "zone", zone: fixedOffsetZone(offsetMinutes) }
}

/** An ICAL.Time for an instant, as wall time in `placement`. */
export const instantAt = (ms: number, placement: Placement): ICAL.Time => {
  const utc = ICAL.Time.fromJSDate(new Date(ms), true)
  return placement.kind === "utc" ? utc : utc.convertToZone(placement.zone)
}

export const dateValue = (year: number, month: number, day: number): ICAL.Time =>
  ICAL.Time.fromData({ year, month, day, isDate: true })

// --- output times --------------------------------------------------------------------

const pad = (n: number, width = 2) => String(n).padStart(width, "0")

const dateText = (t: ICAL.Time) => `${pad(t.year, 4)}-${pad(t.month)}-${pad(t.day)}`

const offsetText = (seconds: number) => {
  const sign = seconds < 0 ? "-" : "+"
  const abs = Math.abs(Math.round(seconds / 60))
  return `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`
}

export interface OutputTime {
  /** RFC 3339 (`…Z` in UTC, `…+01:00` in a zone, no offset when floating) or a date. */
  readonly value: string
  readonly allDay: boolean
  /** The TZID (`UTC` for UTC times), null for dates and floating times. */
  readonly timezone: string | null
  /** The instant, epoch ms (dates and floating times as if UTC). */
  readonly ms: number
}

const isFloating = (t: ICAL.Time) => t.zone === ICAL.Timezone.localTimezone || t.zone?.tzid === "floating"

export const outputTime = (t: ICAL.Time): OutputTime => {
  if (t.isDate) return { value: dateText(t), allDay: true, timezone: null, ms: t.toUnixTime() * 1000 }
  const wall = `${dateText(t)}T${pad(t.hour)}:${pad(t.minute)}:${pad(t.second)}`
  if (isFloating(t)) {
    const asUtc = Date.UTC(t.year, t.month - 1, t.day, t.hour, t.minute, t.second)
    return { value: wall, allDay: false, timezone: null, ms: asUtc }
  }
  const ms = t.toUnixTime() * 1000
  if (t.zone === ICAL.Timezone.utcTimezone || t.zone?.tzid === "UTC") return { value: `${wall}Z`, allDay: false, timezone: "UTC", ms }
  return { value: `${wall}${offsetText(t.utcOffset())}`, allDay: false, timezone: t.zone?.tzid ?? null, ms }
}

/** Epoch ms of a time (dates and floating times as if UTC). */
export const msOf = (t: ICAL.Time): number => outputTime(t).ms

// --- parsing ---------------------------------------------------------------------

export class IcalParseError extends Error {}

/** The VCALENDAR of an object's data; throws `IcalParseError`. */
export const parseCalendar = (ics: string): ICAL.Component => {
  let parsed: unknown
  try {
    parsed = ICAL.parse(ics)
  } catch (error) {
    throw new IcalParseError(error instanceof Error ? error.message.slice(0, 200) : "unparsable iCalendar")
  }
  const first = Array.isArray(parsed) && Array.isArray(parsed[0]) ? parsed[0] : parsed
  const component = new ICAL.Component(first as ConstructorParameters<typeof ICAL.Component>[0])
  if (component.name !== "vcalendar") throw new IcalParseError("not a VCALENDAR")
  return component
}

export const safeParseCalendar = (ics: string): ICAL.Component | null => {
  try {
    return parseCalendar(ics)
  } catch {
    return null
  }
}

/** The master (no RECURRENCE-ID) and the overridden instances of one UID's component type. */
export interface ComponentSet {
  readonly master: ICAL.Component | null
  readonly overrides: ReadonlyArray<ICAL.Component>
}

export const componentsOf = (vcalendar: ICAL.Component, type: "vevent" | "vtodo"): ComponentSet => {
  const all = vcalendar.getAllSubcomponents(type)
  return {
    master: all.find((c) => !c.hasProperty("recurrence-id")) ?? null,
    overrides: all.filter((c) => c.hasProperty("recurrence-id"))
  }
}

export const textProp = (component: ICAL.Component, name: string): string | null => {
  const value = component.getFirstPropertyValue(name)
  return typeof value === "string" ? value : value === null || value === undefined ? null : String(value)
}

export const timeProp = (component: ICAL.Component, name: string): ICAL.Time | null => {
  const value = component.getFirstPropertyValue(name)
  return value instanceof ICAL.Time ? value : null
}

export const rruleText = (component: ICAL.Component): string | null => {
  const value = component.getFirstPropertyValue("rrule")
  return value instanceof ICAL.Recur ? value.toString() : null
}

/** DTEND, else DTSTART + DURATION, else (RFC 5545 §3.6.1) a day after a date / the start itself. */
export const eventEnd = (component: ICAL.Component, start: ICAL.Time): ICAL.Time => {
  const end = timeProp(component, "dtend")
  if (end !== null) return end
  const duration = component.getFirstPropertyValue("duration")
  const out = start.clone()
  if (duration instanceof ICAL.Duration) out.addDuration(duration)
  else if (start.isDate) out.day += 1
  return out
}

// --- recurrence --------------------------------------------------------------------

/** Occurrences one event may be stepped through when expanding (guards rules such as FREQ=SECONDLY). */
export const MAX_EXPANDED_STEPS = 20_000

export interface Occurrence {
  readonly component: ICAL.Component
  readonly start: ICAL.Time
  readonly end: ICAL.Time
  /** The occurrence's original start; null for a non-recurring event. */
  readonly recurrenceId: ICAL.Time | null
}

/**
 * The occurrences of one object's event overlapping [fromMs, toMs): a single
 * event as itself; a recurring one expanded from DTSTART with ical.js
 * (RRULE, RDATE, EXDATE), overridden instances taking their RECURRENCE-ID's
 * place. `truncated` when the step bound was reached first.
 */
export const occurrencesIn = (
  set: ComponentSet,
  fromMs: number,
  toMs: number,
  maxSteps = MAX_EXPANDED_STEPS
): { readonly occurrences: ReadonlyArray<Occurrence>; readonly truncated: boolean } => {
  const overlaps = (start: ICAL.Time, end: ICAL.Time) => {
    const s = msOf(start)
    const e = msOf(end)
    return s < toMs && (e > fromMs || (e === s && s >= fromMs))
  }
  const out: Array<Occurrence> = []
  if (set.master === null) {
    // Only overridden instances (an invitation to some occurrences): each is itself.
    for (const c of set.overrides) {
      const start = timeProp(c, "dtstart")
      if (start === null) continue
      const end = eventEnd(c, start)
      if (overlaps(start, end)) out.push({ component: c, start, end, recurrenceId: timeProp(c, "recurrence-id") })
    }
    return { occurrences: out, truncated: false }
  }
  const event = new ICAL.Event(set.master, { exceptions: [...set.overrides], strictExceptions: true })
  const masterStart = timeProp(set.master, "dtstart")
  if (masterStart === null) return { occurrences: [], truncated: false }
  if (!event.isRecurring()) {
    const end = eventEnd(set.master, masterStart)
    return { occurrences: overlaps(masterStart, end) ? [{ component: set.master, start: masterStart, end, recurrenceId: null }] : [], truncated: false }
  }
  const iterator = event.iterator()
  const seen = new Set<string>()
  let steps = 0
  let truncated = false
  // Overrides may move an occurrence earlier or later than its original start: keep iterating while
  // an original start could still be moved into the range.
  const latestShift = Math.max(
    0,
    ...set.overrides.map((c) => {
      const rid = timeProp(c, "recurrence-id")
      const start = timeProp(c, "dtstart")
      return rid === null || start === null ? 0 : msOf(rid) - msOf(start)
    })
  )
  for (let next = iterator.next(); next !== null && next !== undefined; next = iterator.next()) {
    if (++steps > maxSteps) {
      truncated = true
      break
    }
    if (msOf(next) >= toMs + latestShift) break
    const details = event.getOccurrenceDetails(next)
    const key = details.recurrenceId.toString()
    if (seen.has(key)) continue
    seen.add(key)
    if (overlaps(details.startDate, details.endDate)) {
      out.push({ component: details.item.component, start: details.startDate, end: details.endDate, recurrenceId: details.recurrenceId })
    }
  }
  return { occurrences: out, truncated }
}

// --- writing -------------------------------------------------------------------------

/** One content line of a property (ical.js serialises and folds it). */
export const propertyLine = (property: ICAL.Property): string => ICAL.stringify.property(property.toJSON(), ICAL.design.icalendar, false)

/** A property with a time value: TZID parameter for a zoned time, VALUE=DATE for a date. */
export const timeProperty = (name: string, time: ICAL.Time): ICAL.Property => {
  const property = new ICAL.Property(name)
  property.setValue(time)
  if (!time.isDate && time.zone !== ICAL.Timezone.utcTimezone && time.zone?.tzid !== undefined && time.zone.tzid !== "floating") {
    property.setParameter("tzid", time.zone.tzid)
  }
  return property
}

export const textProperty = (name: string, value: string): ICAL.Property => {
  const property = new ICAL.Property(name)
  property.setValue(value)
  return property
}

export const valueProperty = (name: string, value: string | number | ICAL.Recur | ICAL.Time | ICAL.Duration): ICAL.Property => {
  const property = new ICAL.Property(name)
  property.setValue(value)
  return property
}

/** Tzids a list of properties refers to that need a VTIMEZONE. */
const tzidsOf = (properties: ReadonlyArray<ICAL.Property>): ReadonlyArray<string> => [
  ...new Set(properties.map((p) => p.getParameter("tzid")).filter((t): t is string => typeof t === "string" && t !== ""))
]

export const PRODID = "-//nextcloud-mcp//CalDAV tools//EN"

/** A new VCALENDAR holding one component with these properties, and the VTIMEZONEs they need. */
export const newCalendarObject = (type: "vevent" | "vtodo", properties: ReadonlyArray<ICAL.Property>): string => {
  const lines = ["BEGIN:VCALENDAR", "VERSION:2.0", `PRODID:${PRODID}`, "CALSCALE:GREGORIAN"]
  const body: Array<string> = []
  for (const tzid of tzidsOf(properties)) {
    const text = vtimezoneText(tzid)
    if (text !== null) body.push(text.replace(/\r\n$/, ""))
  }
  body.push(`BEGIN:${type.toUpperCase()}`, ...properties.map(propertyLine), `END:${type.toUpperCase()}`)
  return `${[...lines, ...body, "END:VCALENDAR"].join("\r\n")}\r\n`
}

/** `DTSTAMP`/`LAST-MODIFIED`/`CREATED` value: now, in UTC. */
export const utcNow = (ms: number): ICAL.Time => ICAL.Time.fromJSDate(new Date(Math.floor(ms / 1000) * 1000), true)

interface RawLine {
  /** The line as stored, folding and line ending included. */
  readonly raw: string
  /** Unfolded, without line ending. */
  readonly text: string
}

/** The content lines of iCalendar text, each with its original bytes. */
const rawLines = (ics: string): Array<RawLine> => {
  const physical = ics.match(/[^\r\n]*(?:\r\n|\n|\r|$)/g) ?? []
  const out: Array<{ raw: string; text: string }> = []
  for (const line of physical) {
    if (line === "") continue
    const content = line.replace(/(?:\r\n|\n|\r)$/, "")
    const last = out[out.length - 1]
    if ((content.startsWith(" ") || content.startsWith("\t")) && last !== undefined) {
      last.raw += line
      last.text += content.slice(1)
    } else {
      out.push({ raw: line, text: content })
    }
  }
  return out
}

const nameOf = (text: string): string => {
  const end = text.search(/[;:]/)
  return (end < 0 ? text : text.slice(0, end)).toUpperCase()
}

/**
 * A property change: the new content lines of property `name` (none = remove
 * it), or with `append` lines added after the property's existing ones
 * (e.g. one more EXDATE), leaving those as they were.
 */
export interface PropertyChange {
  readonly name: string
  readonly properties: ReadonlyArray<ICAL.Property>
  readonly append?: boolean
}

/** Which component `editObject` changes: the master (no RECURRENCE-ID), or the n-th component of the type (0-based, in file order). */
export type EditTarget = "master" | { readonly ordinal: number }

/**
 * Applies `changes` to one component of `type` in `ics` (by default the
 * master, the one without RECURRENCE-ID), touching nothing else: each changed
 * property's lines are replaced where the first of them stood (or added
 * before the component's first sub-component / END), and a VTIMEZONE is added
 * for a TZID the object does not define yet. Null when there is no such
 * component.
 */
export const editObject = (
  ics: string,
  type: "vevent" | "vtodo",
  changes: ReadonlyArray<PropertyChange>,
  which: EditTarget = "master"
): string | null => {
  const lines = rawLines(ics)
  const upper = type.toUpperCase()
  const ending = ics.includes("\r\n") || !ics.includes("\n") ? "\r\n" : "\n"
  // Locate the master component: BEGIN at depth 1 with no RECURRENCE-ID of its own.
  let depth = 0
  let target: { begin: number; end: number; ownLines: Array<number>; firstChild: number | null } | null = null
  let current: { begin: number; ownLines: Array<number>; firstChild: number | null; isOverride: boolean; ordinal: number } | null = null
  let ordinal = 0
  let lastTimezoneEnd: number | null = null
  let firstComponent: number | null = null
  const definedTzids = new Set<string>()
  let inTimezone = false
  for (let i = 0; i < lines.length; i++) {
    const text = (lines[i] as RawLine).text
    const name = nameOf(text)
    if (name === "BEGIN") {
      const what = text.slice(6).trim().toUpperCase()
      depth++
      if (depth === 2) {
        if (what === "VTIMEZONE") inTimezone = true
        else firstComponent ??= i
        if (what === upper) current = { begin: i, ownLines: [], firstChild: null, isOverride: false, ordinal: ordinal++ }
      } else if (depth === 3 && current !== null) {
        current.firstChild ??= i
      }
      continue
    }
    if (name === "END") {
      if (depth === 2) {
        const what = text.slice(4).trim().toUpperCase()
        if (what === "VTIMEZONE") {
          inTimezone = false
          lastTimezoneEnd = i
        }
        if (current !== null && what === upper) {
          const wanted = which === "master" ? !current.isOverride : current.ordinal === which.ordinal
          if (wanted && target === null) target = { ...current, end: i }
          current = null
        }
      }
      depth--
      continue
    }
    if (depth === 2 && inTimezone && name === "TZID") definedTzids.add(text.slice(text.indexOf(":") + 1))
    if (depth === 2 && current !== null) {
      current.ownLines.push(i)
      if (name === "RECURRENCE-ID") current.isOverride = true
    }
  }
  if (target === null) return null
  const replaced = new Map<number, Array<string>>()
  const removed = new Set<number>()
  const appended: Array<string> = []
  for (const change of changes) {
    const name = change.name.toUpperCase()
    const at = target.ownLines.filter((i) => nameOf((lines[i] as RawLine).text) === name)
    const newLines = change.properties.map((p) => propertyLine(p).replace(/\r\n/g, ending) + ending)
    if (at.length === 0) appended.push(...newLines)
    else if (change.append === true) {
      const last = at[at.length - 1] as number
      replaced.set(last, [(lines[last] as RawLine).raw.replace(/(?:\r\n|\n|\r)?$/, ending), ...newLines])
    } else {
      replaced.set(at[0] as number, newLines)
      for (const i of at.slice(1)) removed.add(i)
    }
  }
  const timezones = tzidsOf(changes.flatMap((c) => c.properties))
    .filter((tzid) => !definedTzids.has(tzid))
    .map((tzid) => vtimezoneText(tzid))
    .filter((t): t is string => t !== null)
    .map((t) => t.replace(/\r\n$/, "").replace(/\r\n/g, ending) + ending)
  const timezoneAt = lastTimezoneEnd !== null ? lastTimezoneEnd + 1 : (firstComponent ?? target.begin)
  const appendAt = target.firstChild ?? target.end
  let out = ""
  for (let i = 0; i < lines.length; i++) {
    if (i === timezoneAt) out += timezones.join("")
    if (i === appendAt) out += appended.join("")
    const line = lines[i] as RawLine
    const replacement = replaced.get(i)
    if (replacement !== undefined) out += replacement.join("")
    else if (!removed.has(i)) out += /(?:\r\n|\n|\r)$/.test(line.raw) ? line.raw : line.raw + ending
  }
  return out
}

/** The line range [begin, end] of the n-th component of `type` at the top level of the VCALENDAR. */
const componentRange = (lines: ReadonlyArray<RawLine>, type: "vevent" | "vtodo", ordinal: number): { begin: number; end: number } | null => {
  const upper = type.toUpperCase()
  let depth = 0
  let seen = -1
  let begin: number | null = null
  for (let i = 0; i < lines.length; i++) {
    const text = (lines[i] as RawLine).text
    const name = nameOf(text)
    if (name === "BEGIN") {
      depth++
      if (depth === 2 && text.slice(6).trim().toUpperCase() === upper && ++seen === ordinal) begin = i
    } else if (name === "END") {
      if (depth === 2 && begin !== null) return { begin, end: i }
      depth--
    }
  }
  return null
}

/** `ics` with the n-th component of `type` taken out, every other line as it was; null when there is none. */
export const removeComponent = (ics: string, type: "vevent" | "vtodo", ordinal: number): string | null => {
  const lines = rawLines(ics)
  const range = componentRange(lines, type, ordinal)
  if (range === null) return null
  return lines
    .filter((_, i) => i < range.begin || i > range.end)
    .map((l) => l.raw)
    .join("")
}

/** `ics` with one more component (iCalendar text of BEGIN…END) before its closing END:VCALENDAR, every other line as it was. */
export const addComponent = (ics: string, component: ICAL.Component): string | null => {
  const lines = rawLines(ics)
  const ending = ics.includes("\r\n") || !ics.includes("\n") ? "\r\n" : "\n"
  let close = -1
  for (let i = lines.length - 1; i >= 0; i--) {
    if (/^END:VCALENDAR$/i.test((lines[i] as RawLine).text.trim())) {
      close = i
      break
    }
  }
  if (close < 0) return null
  const text = component.toString().replace(/\r\n/g, ending).replace(/(?:\r\n|\n)?$/, ending)
  const before = lines.slice(0, close).map((l) => (/(?:\r\n|\n|\r)$/.test(l.raw) ? l.raw : l.raw + ending))
  return [...before, text, ...lines.slice(close).map((l) => l.raw)].join("")
}

/**
 * The original occurrence of a recurring master whose start is `wanted`
 * (an instant in ms, or a date `YYYY-MM-DD` for all-day series), found by
 * stepping the rule (RRULE, RDATE, EXDATE; at most MAX_EXPANDED_STEPS steps).
 * Its end keeps the master's duration. Null when the series has no such
 * occurrence (excluded or never there).
 */
export const originalOccurrence = (master: ICAL.Component, wanted: { readonly ms: number } | { readonly date: string }): { readonly start: ICAL.Time; readonly end: ICAL.Time } | null => {
  const start = timeProp(master, "dtstart")
  if (start === null) return null
  const event = new ICAL.Event(master)
  if (!event.isRecurring()) return null
  const duration = eventEnd(master, start).subtractDate(start)
  const iterator = event.iterator()
  let steps = 0
  for (let next = iterator.next(); next !== null && next !== undefined && ++steps <= MAX_EXPANDED_STEPS; next = iterator.next()) {
    const at = outputTime(next)
    const hit = "ms" in wanted ? !at.allDay && at.ms === wanted.ms : at.allDay && at.value === wanted.date
    if (hit) {
      const end = next.clone()
      end.addDuration(duration)
      return { start: next, end }
    }
    if ("ms" in wanted ? at.ms > wanted.ms : at.value > wanted.date) return null
  }
  return null
}
