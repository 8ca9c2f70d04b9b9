/**
 * The users' stored logins (flows) as `Storage` has them, remembering one
 * thing: which users have none. `nc_auth_check_status` is the call clients
 * make most, nearly always for a user with no login in progress, and those
 * calls are answered without a query (a third of that call's cost was the
 * flow lookup, bench/ANALYSIS.md).
 *
 * - Only absence is remembered, never a flow: a stored flow changes under
 *   its user's lock (polls, elicitation ids, narrowing), and those paths
 *   read it from storage.
 * - A flow is stored only through {@link StoredFlowsShape.put}. It drops
 *   what this process remembers of the user and announces the change on
 *   the channel that carries grant changes, through the scope cache (which
 *   owns that channel and drops its entry of the user too, harmlessly), so
 *   every process sharing the database drops its memory of the user when it
 *   hears of it: within the SQLite change poll (100 ms) or a PostgreSQL
 *   notification.
 * - A read that races a `put` or an announcement never keeps a stale
 *   absence, a missed announcement is bounded by the scope cache's TTL, and
 *   at most `capacity` users are remembered (../auth/userMemory.ts). A
 *   reset of the channel (announcements may have been missed) drops
 *   everything.
 */
import { Context, Duration, Effect, Layer, Option, Queue } from "effect"
import { ScopeCache } from "../auth/ScopeCache.js"
import { makeUserMemory } from "../auth/userMemory.js"
import type { UserId } from "../domain/Ids.js"
import { type PendingFlow, Storage, type StorageError } from "../storage/Storage.js"

export interface StoredFlowsShape {
  /** The user's stored flow (as `Storage.getFlow`); without a query when this process knows there is none. */
  readonly get: (userId: UserId) => Effect.Effect<Option.Option<PendingFlow>, StorageError>
  /** Store a flow, new or changed (`Storage.putFlow`), and make it known here and to the other processes. */
  readonly put: (flow: PendingFlow) => Effect.Effect<void, StorageError>
}

export interface StoredFlowsOptions {
  /** How long an absence is trusted without hearing of a change (default: the scope cache's TTL). */
  readonly ttl?: Duration.DurationInput
  /** Users remembered at most (default 100,000). */
  readonly capacity?: number
}

export const makeStoredFlows = (options: StoredFlowsOptions = {}) =>
  Effect.gen(function* () {
    const storage = yield* Storage
    const cache = yield* ScopeCache
    const ttl = Duration.toMillis(options.ttl ?? ScopeCache.DEFAULT_TTL)
    const capacity = options.capacity ?? 100_000

    /** Users known to have no stored flow (only "none" is kept). */
    const none = makeUserMemory<Option.Option<PendingFlow>>({ ttlMillis: ttl, capacity })

    const announced = yield* cache.changes
    yield* Queue.take(announced).pipe(
      Effect.map((change) => (change._tag === "User" ? none.forget(change.userId) : none.forgetAll())),
      Effect.forever,
      Effect.forkScoped
    )

    const get = (userId: UserId) => none.through(userId, () => storage.getFlow(userId), Option.isNone)

    // Dropped and announced even when the write reports a failure: it may have been committed.
    const put = (flow: PendingFlow) =>
      storage.putFlow(flow).pipe(
        Effect.ensuring(
          Effect.suspend(() => {
            none.forget(flow.userId)
            return cache.invalidate(flow.userId)
          })
        )
      )

    return StoredFlows.of({ get, put })
  })

export class StoredFlows extends Context.Tag("nextcloud-mcp/StoredFlows")<StoredFlows, StoredFlowsShape>() {
  static readonly layer = (options?: StoredFlowsOptions) => Layer.scoped(StoredFlows, makeStoredFlows(options))
}
