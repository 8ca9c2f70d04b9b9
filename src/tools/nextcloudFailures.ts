/**
 * The generic answers to a failed Nextcloud call, in one place. A tool maps
 * the refusals it can explain better (a missing note, a stale etag) itself;
 * whatever is left reaches the adapter, which answers it here:
 *
 * - 401: the stored app password is gone; `Provisioning.reportUnauthorized`
 *   removes it and the caller is asked to provision again;
 * - unreachable, timed out, unexpected answer: `NextcloudUnreachable` /
 *   `NextcloudError`, naming the server, what was being tried, the cause
 *   (refused, DNS, certificate, TLS mismatch) and the setting to check;
 * - a 404 from Nextcloud's router rather than the app (no such route):
 *   `NextcloudError` asking whether the app is installed;
 * - other refusals (403, 404, 405, 409, 412, 423, 507): the matching tool
 *   error with a generic message.
 *
 * `whileTrying(action)` names what a call was for, so the generic message
 * reads "… while trying to <action>".
 */
import { Data, Effect } from "effect"
import {
  Conflict,
  Locked,
  NotFound,
  PermissionDenied,
  QuotaExceeded,
  type ToolError
} from "../domain/Errors.js"
import { type DataCallError, describeNextcloudFailure, isDataCallError, logDetail } from "../nextcloud/errors.js"
import { NextcloudConfig } from "../nextcloud/NextcloudConfig.js"
import { Provisioning } from "../provisioning/Provisioning.js"
import type { Grant } from "../storage/Storage.js"

/** A Nextcloud call failed while trying to `action`; the adapter answers it. */
export class NextcloudCallFailed extends Data.TaggedError("NextcloudCallFailed")<{
  readonly action: string
  readonly error: DataCallError
}> {}

/** What a tool may leave to the adapter: a failed Nextcloud call, with or without its action named. */
export type NextcloudFailure = DataCallError | NextcloudCallFailed

/**
 * Names what the Nextcloud calls of `self` are for: their failures are
 * answered "… while trying to `action`". Map the refusals the tool explains
 * better before this.
 */
export const whileTrying =
  (action: string) =>
  <A, E extends { readonly _tag: string }, R>(
    self: Effect.Effect<A, E, R>
  ): Effect.Effect<A, Exclude<E, DataCallError> | NextcloudCallFailed, R> =>
    Effect.mapError(self, (error) =>
      isDataCallError(error) ? new NextcloudCallFailed({ action, error }) : (error as Exclude<E, DataCallError>)
    )

const answer = (grant: Grant, action: string, error: DataCallError) =>
  Effect.gen(function* () {
    switch (error._tag) {
      case "NextcloudUnauthorized": {
        const provisioning = yield* Provisioning
        return yield* provisioning.reportUnauthorized(grant)
      }
      case "NextcloudTransportError":
      case "NextcloudProtocolError":
      case "NextcloudNoSuchRoute": {
        const { host } = yield* NextcloudConfig
        yield* Effect.logWarning(`Nextcloud failure: ${action}`, { operation: error.operation, detail: logDetail(error) })
        return yield* describeNextcloudFailure(host, action, error)
      }
      case "NextcloudNotFound":
        return yield* new NotFound({ message: `Nextcloud found nothing there while trying to ${action}.` })
      case "NextcloudPreconditionFailed":
        return yield* new Conflict({ message: `It was changed meanwhile, so nothing was done while trying to ${action}.` })
      case "NextcloudConflict":
        return yield* new NotFound({ message: `The parent folder does not exist, so nothing was done while trying to ${action}.` })
      case "NextcloudNotAllowed":
        return yield* new Conflict({ message: `Nextcloud does not allow this on what is there now (trying to ${action}).` })
      case "NextcloudForbidden":
        return yield* new PermissionDenied({ message: `Nextcloud does not allow you to ${action}.` })
      case "NextcloudInsufficientStorage":
        return yield* new QuotaExceeded({
          message: `Your Nextcloud storage quota is used up, so nothing was stored while trying to ${action}. Free some space and try again.`
        })
      case "NextcloudLocked":
        return yield* new Locked({
          message: `It is locked in Nextcloud (open in an editor or being synced), so nothing was done while trying to ${action}. Try again shortly.`
        })
    }
  })

/**
 * The tool-facing error for whatever a tool failed with: tool errors pass
 * unchanged; a Nextcloud failure gets its generic answer, `fallbackAction`
 * completing "while trying to …" when the tool named none.
 */
export const answerFailure =
  (grant: Grant, fallbackAction: string) =>
  (error: ToolError | NextcloudFailure): Effect.Effect<never, ToolError, Provisioning | NextcloudConfig> =>
    error._tag === "NextcloudCallFailed"
      ? answer(grant, error.action, error.error)
      : isDataCallError(error)
        ? answer(grant, fallbackAction, error)
        : Effect.fail(error)
