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

// ---------------------------------------------------------------------------
// Opening the database at startup

/** The first code and message found down a reduced cause chain. */
const rootCause = (cause: unknown): { readonly code?: string; readonly message?: string } => {
  let current = cause
  let found: { code?: string; message?: string } = {}
  for (let depth = 0; depth < MAX_CAUSE_DEPTH && typeof current === "object" && current !== null; depth++) {
    const code = textField(current, "code")
    const message = textField(current, "message")
    if (code !== undefined) return message === undefined ? { code } : { code, message }
    if (message !== undefined && found.message === undefined) found = { message }
    current = (current as { readonly cause?: unknown }).cause
  }
  return found
}

const PG = "NC_MCP_DATABASE_URL"

/**
 * Why the database could not be opened at startup and what to change, in
 * one line: a refused port, an unknown host, a missing database, a wrong
 * password or user, missing privileges read differently (PostgreSQL's
 * SQLSTATE and Node's system error codes). Messages are the reduced,
 * scrubbed ones: no password.
 */
export const describeOpenFailure = (error: { readonly operation: string; readonly cause: unknown }): string => {
  const { code, message } = rootCause(error.cause)
  const said = message ?? code ?? "unknown failure"
  switch (code) {
    case "ECONNREFUSED":
      return `PostgreSQL refused the connection (${said}): nothing listens there. Check the host and port in ${PG}, and that PostgreSQL is running.`
    case "ENOTFOUND":
    case "EAI_AGAIN":
    case "EAI_FAIL":
      return `the database host name could not be resolved (${said}). Check the host in ${PG}.`
    case "ETIMEDOUT":
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return `PostgreSQL could not be reached (${said}). Check the host and port in ${PG}, and the network between them.`
    case "3D000":
      return `${said} on that PostgreSQL server. Create it (createdb <name>) or correct the database name (the path) in ${PG}.`
    case "28P01":
      return `PostgreSQL refused the password (${said}). Check the user and password in ${PG}.`
    case "28000":
      return `PostgreSQL refused the login (${said}). Check the user in ${PG}, and the server's pg_hba.conf.`
    case "42501":
      return `the database user lacks a privilege (${said}). Grant it CREATE on the database, or create the schema (NC_MCP_DATABASE_SCHEMA) for it beforehand; the user is set in ${PG}.`
    case "3F000":
      return `${said}. Check NC_MCP_DATABASE_SCHEMA.`
    case "57P03":
      return `PostgreSQL is not accepting connections yet (${said}). Try again when it has started.`
    case "53300":
      return `PostgreSQL has no connection slot left (${said}). Raise max_connections or close other clients.`
  }
  if (code !== undefined && code.startsWith("SQLITE_")) {
    return `the SQLite file could not be opened (${said}). Check NC_MCP_DB: its folder must exist and be writable.`
  }
  if (/timeout/i.test(said)) {
    return `PostgreSQL did not answer in time (${said}). Check the host and port in ${PG}, and the network between them.`
  }
  return `could not ${error.operation === "migrate" ? "prepare the tables" : "connect"}: ${describeStorageCause(error.cause)}. Check NC_MCP_DB / ${PG}.`
}
