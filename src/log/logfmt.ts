/**
 * One logfmt line per entry, for people and log shippers alike:
 * `time=… level=INFO msg="login flow started" user=alice purpose=provision`.
 * A log call's first string is the message; plain objects after it become
 * key=value fields (so `Effect.logInfo("…", { user })` reads naturally);
 * annotations are fields too; a cause is rendered once, quoted.
 */
import { Cause, HashMap, Inspectable, List, Logger } from "effect"

const BARE = /^[A-Za-z0-9_.:/@+-]+$/

const quote = (value: string): string => (value !== "" && BARE.test(value) ? value : JSON.stringify(value))

const render = (value: unknown): string =>
  typeof value === "string"
    ? quote(value)
    : typeof value === "number" || typeof value === "boolean" || value === null || value === undefined
      ? String(value)
      : quote(Inspectable.format(Inspectable.toJSON(value)).replace(/\s*\n\s*/g, " "))

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value) && Object.getPrototypeOf(value) === Object.prototype

export const formatLogfmt = (options: Logger.Logger.Options<unknown>): string => {
  const parts = [`time=${options.date.toISOString()}`, `level=${options.logLevel.label}`]
  const messages = Array.isArray(options.message) ? options.message : [options.message]
  const text: Array<string> = []
  const fields: Array<string> = []
  for (const item of messages) {
    if (isPlainObject(item)) {
      for (const [key, value] of Object.entries(item)) fields.push(`${key}=${render(value)}`)
    } else if (item !== undefined) {
      text.push(typeof item === "string" ? item : Inspectable.format(Inspectable.toJSON(item)))
    }
  }
  if (text.length > 0) parts.push(`msg=${quote(text.join(" "))}`)
  parts.push(...fields)
  // An annotation repeating a field of the call itself (user=dave … user=dave) is said once.
  const given = new Set(fields.map((field) => field.slice(0, field.indexOf("="))))
  for (const [key, value] of HashMap.toEntries(options.annotations)) {
    if (!given.has(key)) parts.push(`${key}=${render(value)}`)
  }
  for (const span of List.toArray(options.spans)) {
    parts.push(`${span.label}_ms=${options.date.getTime() - span.startTime}`)
  }
  if (!Cause.isEmpty(options.cause)) {
    parts.push(`cause=${quote(Cause.pretty(options.cause, { renderErrorCause: true }).replace(/\s*\n\s*/g, " | "))}`)
  }
  return parts.join(" ")
}

export const logfmtLogger = Logger.make(formatLogfmt)
