/** iCalendar objects as other clients write them, for the calendar and tasks suites. */

/**
 * A weekly series (Thunderbird): six Mondays from 2026-01-05 09:00 Berlin, the
 * 12th excluded, the 19th moved to 10:00; an attendee, an organizer, an alarm
 * and a property of another app with a quoted parameter.
 */
export const SEEDED = [
  "BEGIN:VCALENDAR",
  "VERSION:2.0",
  "PRODID:-//Thunderbird//EN",
  "BEGIN:VEVENT",
  "UID:standup-1",
  "DTSTAMP:20250101T000000Z",
  "DTSTART;TZID=Europe/Berlin:20260105T090000",
  "DTEND;TZID=Europe/Berlin:20260105T091500",
  "RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=6",
  "EXDATE;TZID=Europe/Berlin:20260112T090000",
  "SUMMARY:Standup",
  "X-MOZ-GENERATION;X-FOO=\"a:b\":3",
  "ATTENDEE;CN=\"Doe, Jane\";PARTSTAT=ACCEPTED;RSVP=TRUE:mailto:jane@example.org",
  "ORGANIZER;CN=Ada:mailto:ada@example.org",
  "BEGIN:VALARM",
  "ACTION:DISPLAY",
  "TRIGGER:-PT5M",
  "DESCRIPTION:Standup soon",
  "END:VALARM",
  "END:VEVENT",
  "BEGIN:VEVENT",
  "UID:standup-1",
  "DTSTAMP:20250101T000000Z",
  "RECURRENCE-ID;TZID=Europe/Berlin:20260119T090000",
  "DTSTART;TZID=Europe/Berlin:20260119T100000",
  "DTEND;TZID=Europe/Berlin:20260119T101500",
  "SUMMARY:Standup (late)",
  "END:VEVENT",
  "BEGIN:VTIMEZONE",
  "TZID:Europe/Berlin",
  "BEGIN:STANDARD",
  "DTSTART:19701025T030000",
  "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU",
  "TZOFFSETFROM:+0200",
  "TZOFFSETTO:+0100",
  "END:STANDARD",
  "BEGIN:DAYLIGHT",
  "DTSTART:19700329T020000",
  "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU",
  "TZOFFSETFROM:+0100",
  "TZOFFSETTO:+0200",
  "END:DAYLIGHT",
  "END:VTIMEZONE",
  "END:VCALENDAR",
  ""
].join("\r\n")

/** A task from a phone: date-only due, an alarm, categories, a parent and a property of another app. */
export const SEEDED_TODO = [
  "BEGIN:VCALENDAR",
  "VERSION:2.0",
  "PRODID:-//Tasks.org//EN",
  "BEGIN:VTODO",
  "UID:seeded-task",
  "DTSTAMP:20250101T000000Z",
  "SUMMARY:Water the plants",
  "DUE;VALUE=DATE:20260110",
  "X-APPLE-SORT-ORDER:12345",
  "CATEGORIES:home,garden",
  "RELATED-TO;RELTYPE=PARENT:parent-uid",
  "BEGIN:VALARM",
  "ACTION:DISPLAY",
  "TRIGGER;RELATED=END:-PT1H",
  "DESCRIPTION:due soon",
  "END:VALARM",
  "END:VTODO",
  "END:VCALENDAR",
  ""
].join("\r\n")

/** A task as the tasks tools answer it. */
export interface TaskOut {
  readonly id: string
  readonly calendar_id: string
  readonly summary: string | null
  readonly due: string | null
  readonly completed: string | null
  readonly status: string | null
  readonly priority: number | null
  readonly percent_complete: number | null
  readonly etag: string | null
  readonly url: string
}
