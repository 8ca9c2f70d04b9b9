/**
 * Cell values of Nextcloud Tables, checked against their column before
 * anything is sent (docs/nextcloud-protocol.md, "Tables"). Tables itself
 * stores what it cannot parse as an empty cell and does not enforce a
 * number's min/max, so every check the caller should hear about is here.
 *
 * `encodeValue` turns what a caller gives into what Tables stores;
 * `decodeValue` turns what Tables answers into what a caller reads (option
 * labels instead of ids, booleans for check boxes, URLs for links).
 */
import { Either } from "effect"
import type { Column } from "./Client.js"

/** A column's kind: type plus subtype, as Tables names them. */
export const kindOf = (column: Pick<Column, "type" | "subtype">): string =>
  column.subtype !== undefined && column.subtype !== null && column.subtype !== "" ? `${column.type}-${column.subtype}` : column.type

const describe = (column: Column) => `column "${column.title}" (${kindOf(column)})`

/** Tables' usergroup entry types. */
export const USERGROUP_TYPES = { user: 0, group: 1, team: 2 } as const
type UsergroupName = keyof typeof USERGROUP_TYPES


const validDate = (y: number, m: number, d: number) => {
  const date = new Date(Date.UTC(y, m - 1, d))
  return date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/
const TIME = /^([01]\d|2[0-3]):([0-5]\d)(?::00)?$/
const DATETIME = /^(\d{4})-(\d{2})-(\d{2})[T ]([01]\d|2[0-3]):([0-5]\d)(?::00)?$/

const optionOf = (column: Column, value: unknown) => {
  const options = column.selectionOptions ?? []
  if (typeof value === "number") return options.find((o) => o.id === value)
  if (typeof value === "string") {
    return options.find((o) => o.label === value) ?? options.find((o) => o.label.toLocaleLowerCase() === value.toLocaleLowerCase())
  }
  return undefined
}

const optionList = (column: Column) => (column.selectionOptions ?? []).map((o) => `${o.id} "${o.label}"`).join(", ") || "none"

const fail = (message: string) => Either.left(message)

/**
 * What Tables should store for `value` in `column`, or why it cannot.
 * `null` clears the cell (refused for a mandatory column).
 */
export const encodeValue = (column: Column, value: unknown): Either.Either<unknown, string> => {
  const what = describe(column)
  if (column.id < 0) return fail(`${what} is filled in by Tables and cannot be written.`)
  if (value === null) {
    return column.mandatory === true ? fail(`${what} is mandatory and cannot be emptied.`) : Either.right(emptyValue(column))
  }
  switch (kindOf(column)) {
    case "text":
    case "text-line":
    case "text-long":
    case "text-rich": {
      if (typeof value !== "string") return fail(`${what} takes text.`)
      const max = column.textMaxLength
      if (typeof max === "number" && max > 0 && [...value].length > max) {
        return fail(`${what} takes at most ${max} characters; this has ${[...value].length}.`)
      }
      if (kindOf(column) === "text-line" && /[\r\n]/.test(value)) return fail(`${what} takes a single line of text.`)
      return Either.right(value)
    }
    case "text-link": {
      if (typeof value !== "string") return fail(`${what} takes a URL.`)
      let url: URL
      try {
        url = new URL(value)
      } catch {
        return fail(`${what} takes an http(s) URL; "${value.slice(0, 100)}" is not one.`)
      }
      if (url.protocol !== "http:" && url.protocol !== "https:") return fail(`${what} takes an http(s) URL.`)
      return Either.right(JSON.stringify({ title: value, value, providerId: "url" }))
    }
    case "number":
    case "number-stars":
    case "number-progress": {
      if (typeof value !== "number" || !Number.isFinite(value)) return fail(`${what} takes a number.`)
      const kind = kindOf(column)
      const [min, max] =
        kind === "number-stars" ? [0, 5] : kind === "number-progress" ? [0, 100] : [column.numberMin ?? null, column.numberMax ?? null]
      if (kind !== "number" && !Number.isInteger(value)) return fail(`${what} takes a whole number.`)
      if (min !== null && value < min) return fail(`${what} takes numbers from ${min}${max !== null ? ` to ${max}` : ""}; ${value} is too small.`)
      if (max !== null && value > max) return fail(`${what} takes numbers up to ${max}${min !== null ? ` from ${min}` : ""}; ${value} is too large.`)
      const decimals = column.numberDecimals
      if (kind === "number" && typeof decimals === "number" && decimals >= 0) {
        const factor = 10 ** decimals
        if (Math.abs(Math.round(value * factor) - value * factor) > 1e-9 * Math.max(1, Math.abs(value * factor))) {
          return fail(`${what} takes at most ${decimals} decimal place(s); ${value} has more.`)
        }
      }
      return Either.right(value)
    }
    case "datetime": {
      const m = typeof value === "string" ? DATETIME.exec(value) : null
      if (m === null || !validDate(Number(m[1]), Number(m[2]), Number(m[3]))) {
        return fail(`${what} takes a date and time without a time zone, "YYYY-MM-DD HH:MM" (Tables keeps no offset).`)
      }
      return Either.right(`${m[1]}-${m[2]}-${m[3]} ${m[4]}:${m[5]}`)
    }
    case "datetime-date": {
      const m = typeof value === "string" ? DATE.exec(value) : null
      if (m === null || !validDate(Number(m[1]), Number(m[2]), Number(m[3]))) return fail(`${what} takes a date, "YYYY-MM-DD".`)
      return Either.right(value)
    }
    case "datetime-time": {
      const m = typeof value === "string" ? TIME.exec(value) : null
      if (m === null) return fail(`${what} takes a time, "HH:MM".`)
      return Either.right(`${m[1]}:${m[2]}`)
    }
    case "selection": {
      const option = optionOf(column, value)
      if (option === undefined) return fail(`${what} takes one of its options, by label or id: ${optionList(column)}.`)
      return Either.right(option.id)
    }
    case "selection-multi": {
      const values = Array.isArray(value) ? value : [value]
      const ids: Array<number> = []
      for (const v of values) {
        const option = optionOf(column, v)
        if (option === undefined) {
          return fail(`${what} takes a list of its options, by label or id; ${JSON.stringify(v)} is not one of ${optionList(column)}.`)
        }
        if (!ids.includes(option.id)) ids.push(option.id)
      }
      return Either.right(ids.sort((a, b) => a - b))
    }
    case "selection-check": {
      if (typeof value !== "boolean") return fail(`${what} takes true or false.`)
      return Either.right(value ? "true" : "false")
    }
    case "usergroup": {
      const entries = Array.isArray(value) ? value : [value]
      const out: Array<{ id: string; type: number }> = []
      for (const entry of entries) {
        const parsed =
          typeof entry === "string"
            ? { type: "user" as const, id: entry }
            : typeof entry === "object" && entry !== null && typeof (entry as { id?: unknown }).id === "string"
              ? { type: ((entry as { type?: unknown }).type ?? "user") as unknown, id: (entry as { id: string }).id }
              : null
        if (parsed === null || parsed.id === "" || typeof parsed.type !== "string" || !(parsed.type in USERGROUP_TYPES)) {
          return fail(`${what} takes user ids, or {type: "user"|"group"|"team", id} entries.`)
        }
        const type = parsed.type as UsergroupName
        const allowed =
          type === "user" ? column.usergroupSelectUsers !== false : type === "group" ? column.usergroupSelectGroups === true : column.usergroupSelectTeams === true
        if (!allowed) return fail(`${what} does not take ${type}s.`)
        out.push({ id: parsed.id, type: USERGROUP_TYPES[type] })
      }
      if (out.length > 1 && column.usergroupMultipleItems !== true) return fail(`${what} takes a single entry.`)
      return Either.right(out)
    }
    default:
      return fail(`${what}: writing this column type is not supported.`)
  }
}

/** What Tables stores for an emptied cell. */
const emptyValue = (column: Column): unknown => {
  const kind = kindOf(column)
  return kind === "selection-multi" || kind === "usergroup" ? [] : null
}

/** A stored value as a caller reads it. */
export const decodeValue = (column: Column, value: unknown): unknown => {
  if (value === null || value === undefined || value === "") return null
  switch (kindOf(column)) {
    case "selection":
      return (column.selectionOptions ?? []).find((o) => o.id === Number(value))?.label ?? value
    case "selection-multi":
      return Array.isArray(value)
        ? value.map((id) => (column.selectionOptions ?? []).find((o) => o.id === Number(id))?.label ?? id)
        : value
    case "selection-check":
      return value === true || value === "true"
    case "text-link": {
      if (typeof value !== "string") return value
      try {
        const parsed = JSON.parse(value) as { value?: unknown }
        return typeof parsed.value === "string" ? parsed.value : value
      } catch {
        return value
      }
    }
    case "usergroup":
      return Array.isArray(value)
        ? value.map((e: { id?: unknown; type?: unknown }) => ({
            id: e.id,
            type: Object.entries(USERGROUP_TYPES).find(([, t]) => t === e.type)?.[0] ?? e.type
          }))
        : value
    default:
      return value
  }
}

/** The column a caller names, by id or by title (exact, else case-insensitive when that is unambiguous). */
export const findColumn = (columns: ReadonlyArray<Column>, key: string): Either.Either<Column, string> => {
  if (/^\d+$/.test(key)) {
    const byId = columns.find((c) => c.id === Number(key))
    if (byId !== undefined) return Either.right(byId)
  }
  const exact = columns.filter((c) => c.title === key)
  if (exact.length === 1) return Either.right(exact[0] as Column)
  if (exact.length > 1) return fail(`${exact.length} columns are titled "${key}": name it by id (${exact.map((c) => c.id).join(", ")}).`)
  const loose = columns.filter((c) => c.title.toLocaleLowerCase() === key.toLocaleLowerCase())
  if (loose.length === 1) return Either.right(loose[0] as Column)
  if (loose.length > 1) return fail(`${loose.length} columns are titled like "${key}": name it by id (${loose.map((c) => c.id).join(", ")}).`)
  return fail(`There is no column "${key}". Columns: ${columns.map((c) => `${c.id} "${c.title}"`).join(", ") || "none"}.`)
}

/**
 * The values to send, by column id, for values named by column title or id;
 * every problem at once. `insert`: mandatory columns must be given.
 */
export const encodeRow = (
  columns: ReadonlyArray<Column>,
  values: Readonly<Record<string, unknown>>,
  insert: boolean
): Either.Either<Record<number, unknown>, ReadonlyArray<string>> => {
  const out: Record<number, unknown> = {}
  const problems: Array<string> = []
  for (const [key, value] of Object.entries(values)) {
    const column = findColumn(columns, key)
    if (Either.isLeft(column)) {
      problems.push(column.left)
      continue
    }
    if (column.right.id in out) {
      problems.push(`Column "${column.right.title}" is given twice.`)
      continue
    }
    const encoded = encodeValue(column.right, value)
    if (Either.isLeft(encoded)) problems.push(encoded.left)
    else out[column.right.id] = encoded.right
  }
  if (insert) {
    for (const column of columns) {
      if (column.mandatory === true && column.id >= 0 && !(column.id in out)) problems.push(`Column "${column.title}" is mandatory.`)
    }
  }
  return problems.length === 0 ? Either.right(out) : Either.left(problems)
}

/** Output keys for a row's values: titles, with the id added where two columns share one. */
export const columnKeys = (columns: ReadonlyArray<Column>): Map<number, string> => {
  const counts = new Map<string, number>()
  for (const c of columns) counts.set(c.title, (counts.get(c.title) ?? 0) + 1)
  return new Map(columns.map((c) => [c.id, (counts.get(c.title) ?? 0) > 1 ? `${c.title} [${c.id}]` : c.title]))
}

