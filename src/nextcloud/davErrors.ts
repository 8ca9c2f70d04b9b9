/**
 * What Nextcloud's data routes (WebDAV and the Notes API) answer when a
 * request is refused for a reason the caller should know about. These are
 * service errors (no secrets, no bodies); the tools turn them into
 * tool-facing errors with messages that fit the operation.
 */
import { Data, Effect } from "effect"
import type { NextcloudProtocolError, NextcloudTransportError } from "./LoginFlowClient.js"
import { NextcloudUnauthorized } from "./Ocs.js"
import { unexpectedStatus } from "./http.js"

/** 404: no such note, file or folder. */
export class NextcloudNotFound extends Data.TaggedError("NextcloudNotFound")<{ readonly operation: string }> {}

/** 412: an `If-Match` / `If-None-Match` / `Overwrite: F` precondition did not hold. */
export class NextcloudPreconditionFailed extends Data.TaggedError("NextcloudPreconditionFailed")<{
  readonly operation: string
}> {}

/** 409: the parent folder does not exist (WebDAV PUT, MKCOL, MOVE). */
export class NextcloudConflict extends Data.TaggedError("NextcloudConflict")<{ readonly operation: string }> {}

/** 405: not allowed on this resource (MKCOL on something that exists, PUT on a folder). */
export class NextcloudNotAllowed extends Data.TaggedError("NextcloudNotAllowed")<{ readonly operation: string }> {}

/** 403: the user may not do this (read-only share, read-only note, another user's files). */
export class NextcloudForbidden extends Data.TaggedError("NextcloudForbidden")<{ readonly operation: string }> {}

/** 507: the user's quota is used up. */
export class NextcloudInsufficientStorage extends Data.TaggedError("NextcloudInsufficientStorage")<{
  readonly operation: string
}> {}

/** 423: the resource is locked. */
export class NextcloudLocked extends Data.TaggedError("NextcloudLocked")<{ readonly operation: string }> {}

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
