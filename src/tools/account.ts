/**
 * The caller's Nextcloud account, as app tools use it: the credentials of the
 * grant (Basic auth with the login name), and for DAV paths the Nextcloud user
 * id, learnt once (`/ocs/v2.php/cloud/user`) when the grant does not have it
 * yet (docs/nextcloud-protocol.md §7).
 */
import { Clock, Effect } from "effect"
import { ScopeCache } from "../auth/ScopeCache.js"
import { type Credentials, type DavAccount, Ocs } from "../nextcloud/Ocs.js"
import { type Grant, Storage } from "../storage/Storage.js"
import { whileTrying } from "./nextcloudFailures.js"

export const credentialsOf = (grant: Grant): Credentials => ({
  loginName: grant.loginName,
  appPassword: grant.appPassword
})

/** The caller's DAV account; the user id is looked up and stored when the grant does not have it. */
export const davAccountOf = (grant: Grant) =>
  Effect.gen(function* () {
    const credentials = credentialsOf(grant)
    if (grant.ncUserId !== null) return { ...credentials, userId: grant.ncUserId } satisfies DavAccount
    const ocs = yield* Ocs
    const user = yield* ocs.currentUser(credentials).pipe(whileTrying("look up your Nextcloud user id"))
    const storage = yield* Storage
    const cache = yield* ScopeCache
    const now = yield* Clock.currentTimeMillis
    yield* storage.setNcUserId(grant.userId, user.id, now, grant.createdAt).pipe(
      Effect.zipRight(cache.invalidate(grant.userId)),
      Effect.catchAll((e) => Effect.logWarning("could not store the Nextcloud user id", { operation: e.operation }))
    )
    return { ...credentials, userId: user.id } satisfies DavAccount
  })
