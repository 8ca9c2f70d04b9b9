/**
 * What a call to Nextcloud can fail with (docs/nextcloud-protocol.md §2, §9).
 * These are service errors: they hold an operation name, a status and a short
 * detail, never a request, its headers or a response body (those can carry
 * passwords and tokens). Tools turn them into tool-facing errors; the generic
 * wording for that is {@link describeNextcloudFailure}.
 */
import { Data, Duration, Effect } from "effect"
import { NextcloudError, NextcloudUnreachable } from "../domain/Errors.js"

/** Nextcloud could not be reached, or did not answer in time. Safe to retry later. */
export class NextcloudTransportError extends Data.TaggedError("NextcloudTransportError")<{
  readonly operation: string
  readonly reason: "unreachable" | "timeout"
  readonly cause: unknown
  /** A timeout: how long the call waited (NC_MCP_NEXTCLOUD_TIMEOUT_SECONDS). */
  readonly waited?: Duration.Duration
}> {}

/** Nextcloud answered, but not as expected (status, malformed body, missing fields). */
export class NextcloudProtocolError extends Data.TaggedError("NextcloudProtocolError")<{
  readonly operation: string
  readonly status: number
  readonly detail: string
}> {}

/** Nextcloud refused the credentials (401): revoked, expired or wrong. Never retried. */
export class NextcloudUnauthorized extends Data.TaggedError("NextcloudUnauthorized")<{
  readonly operation: string
}> {}

/** 404: no such note, file or folder. */
export class NextcloudNotFound extends Data.TaggedError("NextcloudNotFound")<{ readonly operation: string }> {}

/** 412: an `If-Match` / `If-None-Match` / `Overwrite: F` precondition did not hold. */
export class NextcloudPreconditionFailed extends Data.TaggedError("NextcloudPreconditionFailed")<{
  readonly operation: string
}> {}

/** 409: the parent folder does not exist (WebDAV PUT, MKCOL, MOVE), or a PUT onto a folder. */
export class NextcloudConflict extends Data.TaggedError("NextcloudConflict")<{ readonly operation: string }> {}

/** 405: not allowed on this resource (MKCOL on something that exists). */
export class NextcloudNotAllowed extends Data.TaggedError("NextcloudNotAllowed")<{ readonly operation: string }> {}

/** 403: the user may not do this (read-only share, read-only note, another user's files). */
export class NextcloudForbidden extends Data.TaggedError("NextcloudForbidden")<{ readonly operation: string }> {}

/** 507: the user's quota is used up. */
export class NextcloudInsufficientStorage extends Data.TaggedError("NextcloudInsufficientStorage")<{
  readonly operation: string
}> {}

/** 423: the resource is locked. */
export class NextcloudLocked extends Data.TaggedError("NextcloudLocked")<{ readonly operation: string }> {}

/** What Nextcloud's data routes (an app's API, WebDAV) answer when a request is refused for a reason the caller should know about. */
export type RefusalError =
  | NextcloudNotFound
  | NextcloudPreconditionFailed
  | NextcloudConflict
  | NextcloudNotAllowed
  | NextcloudForbidden
  | NextcloudInsufficientStorage
  | NextcloudLocked

/** Every error a data call can fail with. */
export type DataCallError = RefusalError | NextcloudUnauthorized | NextcloudTransportError | NextcloudProtocolError

const DATA_CALL_TAGS: ReadonlySet<string> = new Set<DataCallError["_tag"]>([
  "NextcloudUnauthorized",
  "NextcloudTransportError",
  "NextcloudProtocolError",
  "NextcloudNotFound",
  "NextcloudPreconditionFailed",
  "NextcloudConflict",
  "NextcloudNotAllowed",
  "NextcloudForbidden",
  "NextcloudInsufficientStorage",
  "NextcloudLocked"
])

export const isDataCallError = (error: { readonly _tag: string }): error is DataCallError => DATA_CALL_TAGS.has(error._tag)

/** A non-expected status, with a short detail and nothing from the body. */
export const unexpectedStatus = (operation: string, status: number, detail?: string): NextcloudProtocolError =>
  new NextcloudProtocolError({ operation, status, detail: detail ?? `unexpected status ${status}` })

/** The error for a non-success status of a data route (401 is handled by the caller). */
export const refusal = (operation: string, status: number): RefusalError | NextcloudProtocolError => {
  switch (status) {
    case 403:
      return new NextcloudForbidden({ operation })
    case 404:
      return new NextcloudNotFound({ operation })
    case 405:
      return new NextcloudNotAllowed({ operation })
    case 409:
      return new NextcloudConflict({ operation })
    case 412:
      return new NextcloudPreconditionFailed({ operation })
    case 423:
      return new NextcloudLocked({ operation })
    case 507:
      return new NextcloudInsufficientStorage({ operation })
    case 429:
      return unexpectedStatus(operation, 429, "throttled by Nextcloud (too many requests or failed logins)")
    case 503:
      return unexpectedStatus(operation, 503, "Nextcloud is in maintenance mode or unavailable")
    default:
      return unexpectedStatus(operation, status)
  }
}

/** Passes an answer with one of the `expected` statuses; 401 and every other status become their error. */
export const expectStatus =
  (operation: string, expected: ReadonlyArray<number>) =>
  <A extends { readonly status: number }>(answer: A): Effect.Effect<A, DataCallError> => {
    if (expected.includes(answer.status)) return Effect.succeed(answer)
    if (answer.status === 401) return Effect.fail(new NextcloudUnauthorized({ operation }))
    return Effect.fail(refusal(operation, answer.status))
  }

/** "30 s", "0.5 s": how long a call waited, in the unit NC_MCP_NEXTCLOUD_TIMEOUT_SECONDS uses. */
const seconds = (waited: Duration.Duration): string => `${Math.round(Duration.toMillis(waited)) / 1000} s`

const unanswered = (error: NextcloudTransportError): string =>
  error.reason === "unreachable"
    ? "could not be reached"
    : error.waited === undefined
      ? "did not answer in time"
      : `did not answer within ${seconds(error.waited)}`

/** The tool-facing error for a failed call to Nextcloud; `action` completes "while trying to …". */
export const describeNextcloudFailure = (
  host: URL,
  action: string,
  error: NextcloudTransportError | NextcloudProtocolError
): NextcloudUnreachable | NextcloudError =>
  error._tag === "NextcloudTransportError"
    ? new NextcloudUnreachable({
        message: `Nextcloud at ${host.origin} ${unanswered(error)} while trying to ${action}. Try again later.`
      })
    : new NextcloudError({
        message: `Nextcloud at ${host.origin} answered unexpectedly (HTTP ${error.status}: ${error.detail}) while trying to ${action}.`
      })
