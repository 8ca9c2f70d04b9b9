/**
 * Tasks tools: VTODOs in the calendars whose component set includes them
 * (what the Nextcloud Tasks app shows). Reads need `todo.read`, writes
 * `todo.write`. A task is addressed by calendar id and UID; its object is
 * found by a query and written at its own href, changing only the
 * properties given.
 */
import { randomUUID } from "node:crypto"
import { Clock, Effect, Either, Schema } from "effect"
import type ICAL from "ical.js"
import { InvalidArguments, NotFound } from "../../domain/Errors.js"
import { CalDav, type Calendar, type CalendarObject } from "../../nextcloud/caldav.js"
import {
  componentsOf,
  dateValue,
  editObject,
  ensureTimezones,
  instantAt,
  newCalendarObject,
  outputTime,
  parseInputTime,
  placementOf,
  type PropertyChange,
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

const CalendarId = Schema.String.pipe(Schema.minLength(1), Schema.maxLength(200)).annotations({
  description: "The calendar's id (nc_calendar_list_calendars; one holding VTODO)"
})
const TaskId = Schema.String.pipe(Schema.minLength(1), Schema.maxLength(1000)).annotations({ description: "The task's id (its UID)" })
const IfMatch = Schema.String.pipe(Schema.minLength(1), Schema.maxLength(200)).annotations({
  description: "The etag you last read; if the task changed since, nothing is changed and Conflict is returned"
})
const Due = Schema.String.pipe(Schema.maxLength(40)).annotations({
  description: "A date (2026-12-24, stays a date) or an RFC 3339 time with offset"
})
const Priority = Schema.Number.pipe(Schema.int(), Schema.between(0, 9)).annotations({ description: "1 highest … 9 lowest, 0 none" })
const Status = Schema.Literal("NEEDS-ACTION", "IN-PROCESS", "COMPLETED", "CANCELLED")

const TaskOutput = Schema.Struct({
  id: Schema.String,
  calendar_id: Schema.String,
  summary: Schema.NullOr(Schema.String),
  description: Schema.NullOr(Schema.String),
  due: Schema.NullOr(Schema.String.annotations({ description: "A date, or RFC 3339 with offset" })),
  completed: Schema.NullOr(Schema.String.annotations({ description: "When it was completed (RFC 3339), null when open" })),
  status: Schema.NullOr(Schema.String),
  priority: Schema.NullOr(Schema.Number),
  percent_complete: Schema.NullOr(Schema.Number),
  etag: Schema.NullOr(Schema.String),
  url: Schema.String
})
type TaskOutput = typeof TaskOutput.Type

const invalid = (message: string) => new InvalidArguments({ message })

const numberProp = (component: ICAL.Component, name: string): number | null => {
  const value = component.getFirstPropertyValue(name)
  return typeof value === "number" ? value : null
}

const taskOutput = (publicUrl: URL, calendar: Calendar, object: CalendarObject): TaskOutput | null => {
  const vcalendar = safeParseCalendar(object.data)
  if (vcalendar === null) return null
  const set = componentsOf(vcalendar, "vtodo")
  const task = set.master ?? set.overrides[0]
  if (task === undefined) return null
  const due = timeProp(task, "due")
  const completed = timeProp(task, "completed")
  const name = decodeURIComponent(object.url.pathname.split("/").pop() ?? "")
  return {
    id: textProp(task, "uid") ?? "",
    calendar_id: calendar.id,
    summary: textProp(task, "summary"),
    description: textProp(task, "description"),
    due: due === null ? null : outputTime(due).value,
    completed: completed === null ? null : outputTime(completed).value,
    status: textProp(task, "status"),
    priority: numberProp(task, "priority"),
    percent_complete: numberProp(task, "percent-complete"),
    etag: object.etag,
    url: webUrl(publicUrl, object.url, `apps/tasks/#/calendars/${encodeURIComponent(calendar.id)}/tasks/${encodeURIComponent(name)}`)
  }
}

const isOpen = (task: TaskOutput) => task.completed === null && task.status !== "COMPLETED" && task.status !== "CANCELLED"

/** A DUE value: a date stays a DATE; a time keeps its offset (in `timezone` when given). */
const dueTime = (text: string, timezone: string | undefined): Either.Either<ICAL.Time, InvalidArguments> => {
  const due = parseInputTime(text)
  if (due === null) return Either.left(invalid(`due "${text}" is neither a date (YYYY-MM-DD) nor an RFC 3339 time with an offset.`))
  if (due.kind === "date") return Either.right(dateValue(due.year, due.month, due.day))
  return Either.right(instantAt(due.ms, placementOf(timezone ?? null, due.offsetMinutes)))
}

// --- list ------------------------------------------------------------------------------

export const listTasks = Tool.make({
  name: "nc_tasks_list",
  title: "List Tasks",
  description: "List your tasks (open ones unless include_completed), soonest due first, across the calendars holding tasks or in one.",
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  scopes: ["todo.read"],
  input: Schema.Struct({
    calendar_id: Schema.optional(CalendarId),
    include_completed: Schema.optional(Schema.Boolean.annotations({ description: "Also completed and cancelled tasks (default false)" })),
    limit: Schema.optional(Limit),
    cursor: Schema.optional(Cursor)
  }),
  output: Tool.response(["ok", "error"], { tasks: Schema.optional(Schema.Array(TaskOutput)), next_cursor: Schema.optional(Schema.NullOr(Schema.String)) }),
  handler: (input, { grant }) =>
    Effect.gen(function* () {
      yield* ensureTimezones
      const account = yield* davAccountOf(grant)
      const caldav = yield* CalDav
      const { publicUrl } = yield* NextcloudConfig
      const calendars = yield* calendarsFor(caldav, account, "VTODO", input.calendar_id).pipe(whileTrying("list your task lists"))
      const tasks: Array<{ task: TaskOutput; due: number }> = []
      for (const calendar of calendars) {
        const objects = yield* caldav.query(account, calendar, "VTODO", {}).pipe(whileTrying(`list the tasks of calendar ${calendar.id}`))
        for (const object of objects) {
          const task = taskOutput(publicUrl, calendar, object)
          if (task === null || (!(input.include_completed ?? false) && !isOpen(task))) continue
          const due = task.due === null ? null : parseInputTime(task.due.length === 19 ? `${task.due}Z` : task.due)
          tasks.push({ task, due: due === null ? Number.MAX_SAFE_INTEGER : due.kind === "date" ? Date.UTC(due.year, due.month - 1, due.day) : due.ms })
        }
      }
      tasks.sort((a, b) => a.due - b.due || (a.task.summary ?? "").localeCompare(b.task.summary ?? ""))
      const page = yield* pageOf(tasks.map((t) => t.task), { c: input.calendar_id, i: input.include_completed }, input.limit, input.cursor)
      return {
        status: "ok",
        message: `${tasks.length} ${input.include_completed === true ? "" : "open "}task(s)${page.nextCursor === null ? "" : `; showing ${page.items.length}, more follow: pass next_cursor as cursor`}.`,
        tasks: page.items,
        next_cursor: page.nextCursor
      } as const
    })
})

// --- create ------------------------------------------------------------------------------

export const createTask = Tool.make({
  name: "nc_tasks_create",
  title: "Create Task",
  description: "Create a task. A date-only due stays a date. Without calendar_id it goes to the first writable calendar that holds tasks.",
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  scopes: ["todo.write"],
  input: Schema.Struct({
    summary: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(1000)),
    calendar_id: Schema.optional(CalendarId),
    due: Schema.optional(Due),
    timezone: Schema.optional(Schema.String.pipe(Schema.maxLength(100)).annotations({ description: "IANA zone for a timed due" })),
    priority: Schema.optional(Priority),
    description: Schema.optional(Schema.String.pipe(Schema.maxLength(100_000)))
  }),
  output: Tool.response(["created", "error"], { task: Schema.optional(TaskOutput) }),
  handler: (input, { grant }) =>
    Effect.gen(function* () {
      yield* ensureTimezones
      yield* checkTimezone(input.timezone)
      const due = input.due === undefined ? null : yield* dueTime(input.due, input.timezone)
      const account = yield* davAccountOf(grant)
      const caldav = yield* CalDav
      const { publicUrl } = yield* NextcloudConfig
      const candidates = yield* calendarsFor(caldav, account, "VTODO", input.calendar_id).pipe(whileTrying("find your task lists"))
      const calendar = input.calendar_id === undefined ? candidates.find((c) => !c.readOnly) : candidates[0]
      if (calendar === undefined) return yield* new NotFound({ message: "None of your calendars can hold tasks (VTODO)." })
      yield* writable(calendar)
      const now = utcNow(yield* Clock.currentTimeMillis)
      const uid = randomUUID()
      const data = newCalendarObject("vtodo", [
        textProperty("uid", uid),
        valueProperty("dtstamp", now),
        valueProperty("created", now),
        valueProperty("last-modified", now),
        textProperty("summary", input.summary),
        textProperty("status", "NEEDS-ACTION"),
        ...(due === null ? [] : [timeProperty("due", due)]),
        ...(input.priority === undefined ? [] : [valueProperty("priority", input.priority)]),
        ...(input.description === undefined ? [] : [textProperty("description", input.description)])
      ])
      const created = yield* caldav.create(account, calendar, uid, data).pipe(writeRefusals("task", calendar.id, null), whileTrying("create the task"))
      const task = taskOutput(publicUrl, calendar, created)
      if (task === null) return yield* new NotFound({ message: "The task was stored, but Nextcloud answered it unreadably." })
      return { status: "created", message: `Created task "${input.summary}" in ${calendar.id} (id ${uid}).`, task } as const
    })
})

// --- update / complete -------------------------------------------------------------------

const change = (
  input: { readonly calendar_id: string; readonly id: string; readonly if_match?: string | undefined },
  grant: Parameters<typeof davAccountOf>[0],
  edits: (task: ICAL.Component, now: ICAL.Time) => ReadonlyArray<PropertyChange>,
  done: string
) =>
  Effect.gen(function* () {
    const account = yield* davAccountOf(grant)
    const caldav = yield* CalDav
    const { publicUrl } = yield* NextcloudConfig
    const calendar = yield* oneCalendar(account, input.calendar_id, "VTODO").pipe(whileTrying("find the calendar"))
    yield* writable(calendar)
    const found = yield* findByUid(caldav, account, calendar, "VTODO", input.id, "task").pipe(whileTrying(`read task ${input.id}`))
    yield* checkIfMatch(found.object, input.if_match, `task ${input.id}`)
    const master = componentsOf(found.vcalendar, "vtodo").master
    if (master === null) return yield* invalid(`Task ${input.id} holds only changed occurrences; it cannot be edited as a whole.`)
    const now = utcNow(yield* Clock.currentTimeMillis)
    const data = editObject(found.object.data, "vtodo", [
      ...edits(master, now),
      { name: "dtstamp", properties: [valueProperty("dtstamp", now)] },
      { name: "last-modified", properties: [valueProperty("last-modified", now)] }
    ])
    if (data === null) return yield* invalid(`Task ${input.id} could not be edited.`)
    const stored = yield* caldav.update(account, found.object.url, data, found.object.etag).pipe(writeRefusals("task", calendar.id, input.id), whileTrying(`update task ${input.id}`))
    const task = taskOutput(publicUrl, calendar, stored)
    if (task === null) return yield* new NotFound({ message: `Task ${input.id} was stored, but Nextcloud answered it unreadably.` })
    return { task, message: `${done} task "${task.summary ?? ""}"; new etag ${task.etag}.` }
  })

const completion = (status: string, now: ICAL.Time): ReadonlyArray<PropertyChange> =>
  status === "COMPLETED"
    ? [
        { name: "completed", properties: [valueProperty("completed", now)] },
        { name: "percent-complete", properties: [valueProperty("percent-complete", 100)] }
      ]
    : [{ name: "completed", properties: [] }]

export const updateTask = Tool.make({
  name: "nc_tasks_update",
  title: "Update Task",
  description: "Change a task: give only the fields to change (\"\" removes due or description); everything else in it is kept exactly.",
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
  scopes: ["todo.write"],
  input: Schema.Struct({
    calendar_id: CalendarId,
    id: TaskId,
    if_match: Schema.optional(IfMatch),
    summary: Schema.optional(Schema.String.pipe(Schema.minLength(1), Schema.maxLength(1000))),
    due: Schema.optional(Due),
    timezone: Schema.optional(Schema.String.pipe(Schema.maxLength(100))),
    priority: Schema.optional(Priority),
    description: Schema.optional(Schema.String.pipe(Schema.maxLength(100_000))),
    status: Schema.optional(Status),
    percent_complete: Schema.optional(Schema.Number.pipe(Schema.int(), Schema.between(0, 100)))
  }),
  output: Tool.response(["updated", "error"], { task: Schema.optional(TaskOutput) }),
  handler: (input, { grant }) =>
    Effect.gen(function* () {
      const { calendar_id: _c, id: _i, if_match: _m, timezone, ...fields } = input
      if (Object.keys(fields).length === 0) return yield* invalid("Nothing to change: give summary, due, priority, description, status and/or percent_complete.")
      yield* ensureTimezones
      yield* checkTimezone(timezone)
      const due = input.due === undefined || input.due === "" ? null : yield* dueTime(input.due, timezone)
      const result = yield* change(
        input,
        grant,
        (_task, now) => {
          const edits: Array<PropertyChange> = []
          if (input.summary !== undefined) edits.push({ name: "summary", properties: [textProperty("summary", input.summary)] })
          if (input.description !== undefined) edits.push({ name: "description", properties: input.description === "" ? [] : [textProperty("description", input.description)] })
          if (input.due !== undefined) edits.push({ name: "due", properties: due === null ? [] : [timeProperty("due", due)] })
          if (input.priority !== undefined) edits.push({ name: "priority", properties: [valueProperty("priority", input.priority)] })
          if (input.status !== undefined) {
            edits.push({ name: "status", properties: [textProperty("status", input.status)] })
            if (input.percent_complete === undefined || input.status !== "COMPLETED") edits.push(...completion(input.status, now))
          }
          if (input.percent_complete !== undefined) edits.push({ name: "percent-complete", properties: [valueProperty("percent-complete", input.percent_complete)] })
          return edits
        },
        "Updated"
      )
      return { status: "updated", ...result } as const
    })
})

export const completeTask = Tool.make({
  name: "nc_tasks_complete",
  title: "Complete Task",
  description: "Mark a task done: STATUS COMPLETED, COMPLETED now, PERCENT-COMPLETE 100.",
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  scopes: ["todo.write"],
  input: Schema.Struct({ calendar_id: CalendarId, id: TaskId, if_match: Schema.optional(IfMatch) }),
  output: Tool.response(["completed", "error"], { task: Schema.optional(TaskOutput) }),
  handler: (input, { grant }) =>
    Effect.gen(function* () {
      yield* ensureTimezones
      const result = yield* change(
        input,
        grant,
        (_task, now) => [{ name: "status", properties: [textProperty("status", "COMPLETED")] }, ...completion("COMPLETED", now)],
        "Completed"
      )
      return { status: "completed", ...result } as const
    })
})

// --- delete ------------------------------------------------------------------------------

export const deleteTask = Tool.make({
  name: "nc_tasks_delete",
  title: "Delete Task",
  description: "Delete a task.",
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
  scopes: ["todo.write"],
  input: Schema.Struct({ calendar_id: CalendarId, id: TaskId, if_match: Schema.optional(IfMatch) }),
  output: Tool.response(["deleted", "error"], { id: Schema.optional(Schema.String), calendar_id: Schema.optional(Schema.String) }),
  handler: (input, { grant }) =>
    Effect.gen(function* () {
      yield* ensureTimezones
      const account = yield* davAccountOf(grant)
      const caldav = yield* CalDav
      const calendar = yield* oneCalendar(account, input.calendar_id, "VTODO").pipe(whileTrying("find the calendar"))
      yield* writable(calendar)
      const found = yield* findByUid(caldav, account, calendar, "VTODO", input.id, "task").pipe(whileTrying(`find task ${input.id}`))
      yield* checkIfMatch(found.object, input.if_match, `task ${input.id}`)
      yield* caldav.remove(account, found.object.url, found.object.etag).pipe(writeRefusals("task", calendar.id, input.id), whileTrying(`delete task ${input.id}`))
      return { status: "deleted", message: `Deleted task ${input.id} from calendar ${calendar.id}.`, id: input.id, calendar_id: calendar.id } as const
    })
})

export const tasksTools = [listTasks, createTask, updateTask, completeTask, deleteTask] as const
