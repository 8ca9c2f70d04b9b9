/**
 * What every data tool does around its Nextcloud calls: build the caller's
 * credentials from the grant, learn the Nextcloud user id for WebDAV paths
 * once, and turn service failures into tool-facing errors. A 401 always goes
 * through `Provisioning.reportUnauthorized`: the stored app password is
 * removed and the caller is asked to provision again.
 */
import { Clock, Effect } from "effect"
import { ScopeCache } from "../auth/ScopeCache.js"
import {
  Conflict,
  Locked,
  NotFound,
  PermissionDenied,
  QuotaExceeded,
  type ToolError
} from "../domain/Errors.js"
import { NextcloudConfig } from "../nextcloud/NextcloudConfig.js"
import { type Credentials, Ocs } from "../nextcloud/Ocs.js"
import type { DavAccount } from "../nextcloud/WebDav.js"
import { Provisioning } from "../provisioning/Provisioning.js"
import { type Grant, Storage } from "../storage/Storage.js"
import { type DataCallError, describeNextcloudFailure } from "../nextcloud/errors.js"

export const credentialsOf = (grant: Grant): Credentials => ({
  loginName: grant.loginName,
  appPassword: grant.appPassword
})

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

const isDataCallError = (error: DataCallError | ToolError): error is DataCallError => DATA_CALL_TAGS.has(error._tag)

/**
 * The generic answer to a failed data call, `action` completing "while trying
 * to …". Tools map the refusals they can explain better to tool errors first;
 * those pass through unchanged.
 */
export const failure =
  (grant: Grant, action: string) =>
  <E extends DataCallError | ToolError>(error: E): Effect.Effect<never, ToolError | Exclude<E, DataCallError>, Provisioning | NextcloudConfig> =>
    isDataCallError(error) ? dataCallFailure(grant, action, error) : Effect.fail(error as Exclude<E, DataCallError>)

const dataCallFailure = (grant: Grant, action: string, error: DataCallError) =>
  Effect.gen(function* () {
    switch (error._tag) {
      case "NextcloudUnauthorized": {
        const provisioning = yield* Provisioning
        return yield* provisioning.reportUnauthorized(grant)
      }
      case "NextcloudTransportError":
      case "NextcloudProtocolError": {
        const { host } = yield* NextcloudConfig
        yield* Effect.logWarning(`Nextcloud failure: ${action}`, {
          operation: error.operation,
          ...(error._tag === "NextcloudTransportError" ? { reason: error.reason } : { status: error.status, detail: error.detail })
        })
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
 * The caller's WebDAV account. The Nextcloud user id is looked up once
 * (`/ocs/v2.php/cloud/user`) when the grant does not have it yet, and stored.
 */
export const davAccountOf = (grant: Grant) =>
  Effect.gen(function* () {
    const credentials = credentialsOf(grant)
    if (grant.ncUserId !== null) return { ...credentials, userId: grant.ncUserId } satisfies DavAccount
    const ocs = yield* Ocs
    const user = yield* ocs.currentUser(credentials).pipe(Effect.catchAll(failure(grant, "look up your Nextcloud user id")))
    const storage = yield* Storage
    const cache = yield* ScopeCache
    const now = yield* Clock.currentTimeMillis
    yield* storage.setNcUserId(grant.userId, user.id, now, grant.createdAt).pipe(
      Effect.zipRight(cache.invalidate(grant.userId)),
      Effect.catchAll((e) => Effect.logWarning("could not store the Nextcloud user id", { operation: e.operation }))
    )
    return { ...credentials, userId: user.id } satisfies DavAccount
  })
