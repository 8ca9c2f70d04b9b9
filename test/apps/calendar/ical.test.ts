/**
 * The iCalendar rules of the CalDAV tools: TZID kept and a VTIMEZONE
 * written, instants never shifted, all-day = DATE, minimal-diff edits, and
 * recurrence expansion (EXDATE, RECURRENCE-ID overrides) agreeing with
 * ical.js for arbitrary rules.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, FastCheck as fc } from "effect"
import ICAL from "ical.js"
import {
  addComponent,
  componentsOf,
  dateValue,
  editObject,
  ensureTimezones,
  instantAt,
  newCalendarObject,
  occurrencesIn,
  originalOccurrence,
  outputTime,
  parseCalendar,
  parseInputTime,
  placementOf,
  removeComponent,
  textProperty,
  timeProp,
  timeProperty,
  valueProperty
} from "../../../src/nextcloud/caldavIcal.js"

const ready = Effect.runPromise(ensureTimezones)

const instant = (text: string) => {
  const t = parseInputTime(text)
  if (t === null || t.kind !== "instant") throw new Error(`not an instant: ${text}`)
  return t
}

describe("times", () => {
  it("parses RFC 3339 instants and dates, refusing impossible ones", () => {
    expect(parseInputTime("2026-12-24T18:00:00+01:00")).toEqual({ kind: "instant", ms: Date.UTC(2026, 11, 24, 17), offsetMinutes: 60 })
    expect(parseInputTime("2026-12-24")).toEqual({ kind: "date", year: 2026, month: 12, day: 24 })
    expect(parseInputTime("2026-02-30")).toBeNull()
    expect(parseInputTime("2026-12-24T18:00:00")).toBeNull()
    expect(parseInputTime("2026-12-24T25:00:00Z")).toBeNull()
  })

  it("writes TZID times with their VTIMEZONE and reads back the same instant and offset", async () => {
    await ready
    const start = instant("2026-07-01T10:00:00+02:00")
    const time = instantAt(start.ms, placementOf("Europe/Berlin", start.offsetMinutes))
    const ics = newCalendarObject("vevent", [textProperty("uid", "u1"), timeProperty("dtstart", time), textProperty("summary", "x")])
    expect(ics).toContain("DTSTART;TZID=Europe/Berlin:20260701T100000\r\n")
    expect(ics).toContain("BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\n")
    const vevent = componentsOf(parseCalendar(ics), "vevent").master
    const back = outputTime(timeProp(vevent!, "dtstart")!)
    expect(back).toMatchObject({ value: "2026-07-01T10:00:00+02:00", timezone: "Europe/Berlin", ms: start.ms })
  })

  it("keeps a bare offset as a fixed-offset zone, UTC as Z, and all-day as DATE", async () => {
    await ready
    const plus = instant("2026-03-01T09:30:00+05:30")
    const fixed = instantAt(plus.ms, placementOf(null, plus.offsetMinutes))
    const utc = instant("2026-03-01T09:30:00Z")
    const ics = newCalendarObject("vevent", [
      textProperty("uid", "u2"),
      timeProperty("dtstart", fixed),
      timeProperty("dtend", instantAt(utc.ms, placementOf(null, 0))),
      timeProperty("due", dateValue(2026, 3, 2))
    ])
    expect(ics).toContain("DTSTART;TZID=UTC+0530:20260301T093000")
    expect(ics).toContain("DTEND:20260301T093000Z")
    expect(ics).toContain("DUE;VALUE=DATE:20260302")
    const vevent = componentsOf(parseCalendar(ics), "vevent").master!
    expect(outputTime(timeProp(vevent, "dtstart")!).value).toBe("2026-03-01T09:30:00+05:30")
    expect(outputTime(timeProp(vevent, "dtend")!).value).toBe("2026-03-01T09:30:00Z")
    expect(outputTime(timeProp(vevent, "due")!)).toMatchObject({ value: "2026-03-02", allDay: true })
  })
})

const ORIGINAL = [
  "BEGIN:VCALENDAR",
  "VERSION:2.0",
  "PRODID:-//Other client//EN",
  "X-WR-CALNAME:keep me",
  "BEGIN:VEVENT",
  "UID:keep-1",
  "DTSTAMP:20250101T000000Z",
  "DTSTART:20260105T090000Z",
  "DTEND:20260105T100000Z",
  "SUMMARY:Old title",
  "X-UNKNOWN;X-PARAM=\"a;b\":value with ; and , kept",
  "ATTENDEE;CN=\"Doe, Jane\";ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION:mailto:j",
  " ane@example.org",
  "DESCRIPTION:line one\\nline two",
  "BEGIN:VALARM",
  "ACTION:DISPLAY",
  "TRIGGER:-PT15M",
  "DESCRIPTION:alarm",
  "END:VALARM",
  "END:VEVENT",
  "END:VCALENDAR",
  ""
].join("\r\n")

describe("minimal-diff edits", () => {
  it("changes only the given properties; everything else stays byte for byte", async () => {
    await ready
    const start = instant("2026-01-05T10:00:00+01:00")
    const edited = editObject(ORIGINAL, "vevent", [
      { name: "summary", properties: [textProperty("summary", "New, title; with specials")] },
      { name: "dtstart", properties: [timeProperty("dtstart", instantAt(start.ms, placementOf("Europe/Paris", 60)))] },
      { name: "location", properties: [textProperty("location", "Room 1")] }
    ])
    expect(edited).not.toBeNull()
    const before = ORIGINAL.split("\r\n")
    const after = edited!.split("\r\n")
    const untouched = (lines: ReadonlyArray<string>) =>
      lines.filter((l) => !/^(SUMMARY|DTSTART|LOCATION)[;:]/.test(l) && !/^BEGIN:VTIMEZONE/.test(l))
    // Every original line other than the changed ones, in order, unchanged (VTIMEZONE lines aside).
    const afterWithoutTz = after.filter((_, i) => {
      const tzStart = after.indexOf("BEGIN:VTIMEZONE")
      const tzEnd = after.indexOf("END:VTIMEZONE")
      return tzStart < 0 || i < tzStart || i > tzEnd
    })
    expect(untouched(afterWithoutTz)).toEqual(untouched(before))
    expect(edited).toContain("SUMMARY:New\\, title\\; with specials\r\n")
    expect(edited).toContain("DTSTART;TZID=Europe/Paris:20260105T100000\r\n")
    expect(edited).toContain("LOCATION:Room 1\r\nBEGIN:VALARM")
    expect(edited!.indexOf("BEGIN:VTIMEZONE")).toBeLessThan(edited!.indexOf("BEGIN:VEVENT"))
  })

  it("edits the master, never an overridden instance", () => {
    const ics = ORIGINAL.replace(
      "END:VCALENDAR",
      "BEGIN:VEVENT\r\nUID:keep-1\r\nRECURRENCE-ID:20260112T090000Z\r\nDTSTART:20260112T110000Z\r\nSUMMARY:moved\r\nEND:VEVENT\r\nEND:VCALENDAR"
    )
    const overrideFirst = ics.replace(/BEGIN:VEVENT[\s\S]*?END:VEVENT\r\n/, "").replace("END:VCALENDAR", ORIGINAL.slice(ORIGINAL.indexOf("BEGIN:VEVENT"), ORIGINAL.indexOf("END:VCALENDAR")) + "END:VCALENDAR")
    const edited = editObject(overrideFirst, "vevent", [{ name: "summary", properties: [textProperty("summary", "X")] }])!
    expect(edited).toContain("SUMMARY:moved")
    expect(edited).toContain("SUMMARY:X")
    expect(edited).not.toContain("Old title")
  })
})

describe("recurrence expansion", () => {
  it("honours EXDATE and RECURRENCE-ID overrides inside the range", async () => {
    await ready
    const ics = [
      "BEGIN:VCALENDAR",
      "VERSION:2.0",
      "PRODID:x",
      "BEGIN:VEVENT",
      "UID:r",
      "DTSTAMP:20250101T000000Z",
      "DTSTART;TZID=Europe/Berlin:20260105T090000",
      "DTEND;TZID=Europe/Berlin:20260105T100000",
      "RRULE:FREQ=WEEKLY;COUNT=5",
      "EXDATE;TZID=Europe/Berlin:20260112T090000",
      "SUMMARY:weekly",
      "END:VEVENT",
      "BEGIN:VEVENT",
      "UID:r",
      "DTSTAMP:20250101T000000Z",
      "RECURRENCE-ID;TZID=Europe/Berlin:20260119T090000",
      "DTSTART;TZID=Europe/Berlin:20260119T140000",
      "DTEND;TZID=Europe/Berlin:20260119T150000",
      "SUMMARY:moved",
      "END:VEVENT",
      "END:VCALENDAR",
      ""
    ].join("\r\n")
    const set = componentsOf(parseCalendar(ics), "vevent")
    const { occurrences } = occurrencesIn(set, Date.UTC(2026, 0, 1), Date.UTC(2026, 1, 1))
    expect(occurrences.map((o) => outputTime(o.start).value)).toEqual([
      "2026-01-05T09:00:00+01:00",
      "2026-01-19T14:00:00+01:00",
      "2026-01-26T09:00:00+01:00",
      "2026-02-02T09:00:00+01:00"
    ].slice(0, 3))
    expect(occurrences[1]?.component.getFirstPropertyValue("summary")).toBe("moved")
    expect(outputTime(occurrences[1]!.recurrenceId!).value).toBe("2026-01-19T09:00:00+01:00")
  })

  it("agrees with ical.js's own iterator for arbitrary rules", async () => {
    await ready
    const rule = fc.record({
      freq: fc.constantFrom("DAILY", "WEEKLY", "MONTHLY", "YEARLY"),
      interval: fc.integer({ min: 1, max: 4 }),
      count: fc.integer({ min: 1, max: 30 }),
      byday: fc.option(fc.subarray(["MO", "TU", "WE", "TH", "FR", "SA", "SU"], { minLength: 1 }), { nil: undefined }),
      zone: fc.constantFrom("Europe/Berlin", "America/New_York", "Asia/Kolkata", "UTC"),
      startDay: fc.integer({ min: 0, max: 400 }),
      hour: fc.integer({ min: 0, max: 23 })
    })
    fc.assert(
      fc.property(rule, (r) => {
        const rrule = `FREQ=${r.freq};INTERVAL=${r.interval};COUNT=${r.count}${r.byday === undefined ? "" : `;BYDAY=${r.byday.join(",")}`}`
        const startMs = Date.UTC(2026, 0, 1, r.hour) + r.startDay * 86_400_000
        const start = instantAt(startMs, placementOf(r.zone, 0))
        const ics = newCalendarObject("vevent", [
          textProperty("uid", "p"),
          timeProperty("dtstart", start),
          valueProperty("duration", ICAL.Duration.fromString("PT1H")),
          valueProperty("rrule", ICAL.Recur.fromString(rrule))
        ])
        const set = componentsOf(parseCalendar(ics), "vevent")
        const from = startMs + 20 * 86_400_000
        const to = from + 200 * 86_400_000
        const ours = occurrencesIn(set, from, to).occurrences.map((o) => o.start.toUnixTime())
        const expected: Array<number> = []
        const iterator = new ICAL.Event(set.master!).iterator()
        for (let next = iterator.next(); next; next = iterator.next()) {
          const s = next.toUnixTime() * 1000
          if (s >= to) break
          if (s + 3_600_000 > from) expected.push(next.toUnixTime())
        }
        expect(ours).toEqual(expected)
      }),
      { numRuns: 60 }
    )
  })
})

describe("single occurrences", () => {
  const SERIES = (dtstart: string) =>
    [
      "BEGIN:VCALENDAR",
      "VERSION:2.0",
      "PRODID:-//test//EN",
      "BEGIN:VEVENT",
      "UID:series-1",
      "DTSTAMP:20250101T000000Z",
      dtstart,
      "RRULE:FREQ=DAILY;COUNT=5",
      "EXDATE;VALUE=DATE:20260103",
      "X-KEEP;X-P=\"a;b\":kept",
      "SUMMARY:Daily",
      "END:VEVENT",
      "END:VCALENDAR",
      ""
    ].join("\r\n")

  it("finds an original occurrence of an all-day series by date, never an excluded or missing one", async () => {
    await ready
    const master = componentsOf(parseCalendar(SERIES("DTSTART;VALUE=DATE:20260101")), "vevent").master!
    const hit = originalOccurrence(master, { date: "2026-01-04" })
    expect(hit && [outputTime(hit.start).value, outputTime(hit.end).value]).toEqual(["2026-01-04", "2026-01-05"])
    expect(originalOccurrence(master, { date: "2026-01-03" })).toBeNull()
    expect(originalOccurrence(master, { date: "2026-01-09" })).toBeNull()
    expect(originalOccurrence(master, { ms: Date.UTC(2026, 0, 4) })).toBeNull()
  })

  it("adds and removes whole components and appends to a repeated property, every other line as it was", async () => {
    await ready
    const ics = SERIES("DTSTART;TZID=Europe/Berlin:20260101T090000")
    const master = componentsOf(parseCalendar(ics), "vevent").master!
    const override = new ICAL.Component("vevent")
    override.addProperty(textProperty("uid", "series-1"))
    override.addProperty(timeProperty("recurrence-id", originalOccurrence(master, { ms: instant("2026-01-02T09:00:00+01:00").ms })!.start))
    const added = addComponent(ics, override)!
    expect(added.startsWith(ics.slice(0, ics.indexOf("END:VCALENDAR")))).toBe(true)
    expect(added).toContain("RECURRENCE-ID;TZID=Europe/Berlin:20260102T090000\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
    const renamed = editObject(added, "vevent", [{ name: "summary", properties: [textProperty("summary", "Only this one")] }], { ordinal: 1 })!
    expect(renamed.replace("SUMMARY:Only this one\r\n", "")).toBe(added)
    expect(removeComponent(renamed, "vevent", 1)).toBe(ics)
    expect(removeComponent(ics, "vevent", 1)).toBeNull()
    const excluded = editObject(ics, "vevent", [{ name: "exdate", properties: [valueProperty("exdate", dateValue(2026, 1, 4))], append: true }])!
    expect(excluded).toBe(ics.replace("EXDATE;VALUE=DATE:20260103\r\n", "EXDATE;VALUE=DATE:20260103\r\nEXDATE;VALUE=DATE:20260104\r\n"))
  })

  it("an EXDATE written as the master's DTSTART removes exactly that occurrence, for arbitrary rules and zones", async () => {
    await ready
    const input = fc.record({
      freq: fc.constantFrom("DAILY", "WEEKLY", "MONTHLY"),
      count: fc.integer({ min: 2, max: 12 }),
      zone: fc.constantFrom("Europe/Berlin", "America/New_York", "Asia/Kolkata", "UTC"),
      allDay: fc.boolean(),
      startDay: fc.integer({ min: 0, max: 400 }),
      pick: fc.nat()
    })
    fc.assert(
      fc.property(input, (i) => {
        const startMs = Date.UTC(2026, 0, 1, 9) + i.startDay * 86_400_000
        const d = new Date(startMs)
        const start = i.allDay ? dateValue(d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate()) : instantAt(startMs, placementOf(i.zone, 0))
        const ics = newCalendarObject("vevent", [
          textProperty("uid", "p"),
          timeProperty("dtstart", start),
          valueProperty("rrule", ICAL.Recur.fromString(`FREQ=${i.freq};COUNT=${i.count}`))
        ])
        const all = occurrencesIn(componentsOf(parseCalendar(ics), "vevent"), 0, Date.UTC(2100, 0, 1)).occurrences
        const victim = all[i.pick % all.length]!
        const at = outputTime(victim.start)
        const found = originalOccurrence(componentsOf(parseCalendar(ics), "vevent").master!, at.allDay ? { date: at.value } : { ms: at.ms })
        expect(found && outputTime(found.start).value).toBe(at.value)
        const edited = editObject(ics, "vevent", [{ name: "exdate", properties: [timeProperty("exdate", found!.start)], append: true }])!
        const left = occurrencesIn(componentsOf(parseCalendar(edited), "vevent"), 0, Date.UTC(2100, 0, 1)).occurrences.map((o) => outputTime(o.start).value)
        expect(left).toEqual(all.map((o) => outputTime(o.start).value).filter((v) => v !== at.value))
      }),
      { numRuns: 40 }
    )
  })
})
