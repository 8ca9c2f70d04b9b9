/**
 * How storage failures are told, on every backend:
 *
 * - What a `StorageError` keeps of its cause ({@link reduceCause}): the
 *   failure's kind, message and the driver's code, never row values,
 *   statement parameters or the connection URL's password.
 * - The one-line description of those causes for the logs.
 * - The tool-facing error a storage failure becomes (the edge where a
 *   `StorageError` is collapsed into an `InternalError`).
 */
import { Effect, ParseResult } from "effect"
import { InternalError } from "../domain/Errors.js"
import { StorageError } from "./Storage.js"

// ---------------------------------------------------------------------------
// Causes: keep the failure, never the values

const stringField = (value: unknown, key: string): string | undefined => {
  if (typeof value !== "object" || value === null) return undefined
  const field = (value as Record<string, unknown>)[key]
  return typeof field === "string" ? field : undefined
}

/** Remove `secrets` (a URL, its password) from a message. */
export const scrubber =
  (secrets: ReadonlyArray<string>) =>
  (text: string): string =>
    secrets.reduce((acc, secret) => (secret.length > 0 ? acc.split(secret).join("***") : acc), text)

const noSecrets = scrubber([])

/** ParseError messages quote the offending values; keep only where it failed. */
export const parseErrorSummary = (cause: ParseResult.ParseError) => {
  const paths = ParseResult.ArrayFormatter.formatErrorSync(cause).map((issue) =>
    issue.path.length === 0 ? "(root)" : issue.path.map(String).join(".")
  )
  return { _tag: "ParseError", message: `Stored data did not match its schema at: ${[...new Set(paths)].join(", ")}` }
}

/**
 * The driver's error without `detail`/`where`/parameters (PostgreSQL's can
 * quote row values): its code, severity, message and the object it concerns.
 */
const reduceDriverError = (cause: unknown, scrub: (s: string) => string): unknown => {
  if (typeof cause !== "object" || cause === null) return cause === undefined ? undefined : scrub(String(cause))
  const out: Record<string, string> = {}
  for (const key of ["name", "code", "severity", "message", "routine", "table", "column", "constraint"]) {
    const value = stringField(cause, key)
    if (value !== undefined) out[key] = scrub(value)
  }
  return out
}

/** What a `StorageError` keeps of `cause`, with `scrub` applied to every message. */
export const reduceCause = (cause: unknown, scrub: (s: string) => string = noSecrets): unknown => {
  if (cause instanceof StorageError) return cause.cause
  if (ParseResult.isParseError(cause)) return parseErrorSummary(cause)
  const tag = stringField(cause, "_tag")
  if (tag === "SqlError") {
    return {
      _tag: "SqlError",
      message: scrub(stringField(cause, "message") ?? ""),
      cause: reduceDriverError((cause as { readonly cause?: unknown }).cause, scrub)
    }
  }
  if (tag === "MigrationError") {
    return {
      _tag: "MigrationError",
      reason: stringField(cause, "reason"),
      message: scrub(stringField(cause, "message") ?? ""),
      cause: reduceCause((cause as { readonly cause?: unknown }).cause, scrub)
    }
  }
  if (tag === "CipherError" || tag === "Contention") return cause
  return reduceDriverError(cause, scrub)
}

/** The `StorageError` of `operation` failing with `cause`. */
export const storageError = (operation: string) => (cause: unknown) =>
  new StorageError({ operation, cause: reduceCause(cause) })

// ---------------------------------------------------------------------------
// Telling it

const MAX_CAUSE_DEPTH = 5

const textField = (value: object, key: string): string | undefined => {
  const field = (value as Record<string, unknown>)[key]
  return typeof field === "string" && field.trim() !== "" ? field.trim() : undefined
}

/**
 * A storage failure's message followed by its causes' messages (with the
 * driver's error code), e.g. "Failed to execute statement: database is locked
 * (SQLITE_BUSY)". Only messages and codes: the backends reduce their causes to
 * those, so no stored values or connection secrets are left to print.
 */
export const describeStorageCause = (cause: unknown): string => {
  const parts: Array<string> = []
  let current = cause
  for (let depth = 0; depth < MAX_CAUSE_DEPTH && current !== undefined && current !== null; depth++) {
    if (typeof current !== "object") {
      parts.push(String(current))
      break
    }
    const message = textField(current, "message")
    const code = textField(current, "code")
    if (message !== undefined) parts.push(code === undefined ? message : `${message} (${code})`)
    current = (current as { readonly cause?: unknown }).cause
  }
  return parts.length === 0 ? "unknown" : parts.join(": ")
}

/**
 * Fail with the generic `InternalError` a tool answers for a storage
 * failure, after logging what failed (operation and causes, never values).
 * Made to be the handler of `Effect.catchTag("StorageError", storageUnavailable)`.
 */
export const storageUnavailable = (error: {
  readonly operation: string
  readonly cause: unknown
}): Effect.Effect<never, InternalError> =>
  Effect.logError("storage failed", { operation: error.operation }).pipe(
    Effect.annotateLogs("cause", describeStorageCause(error.cause)),
    Effect.zipRight(
      new InternalError({
        message: "The server's storage failed; nothing was changed. The details are in the server log."
      })
    )
  )
