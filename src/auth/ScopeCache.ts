/**
 * Per-user grant lookups with a TTL on `Clock`, so a scope check on a hot path
 * does not touch storage. Every change of a user's grant must `invalidate`.
 *
 * `invalidate` also publishes the change through `GrantChanges`, and
 * {@link ScopeCache.layer} subscribes to the changes of other processes
 * (invalidating locally, without re-publishing), so replicas sharing a
 * database drop a changed grant within a notification's latency; the TTL is
 * the backstop when a notification is missed. That one subscription also
 * serves whoever else must hear of those changes (`changes`), so a process
 * follows its database once.
 */
import { Cache, Context, Duration, Effect, Exit, Layer, type Option, PubSub, type Queue, type Scope } from "effect"
import type { UserId } from "../domain/Ids.js"
import { type Grant, Storage, type StorageError } from "../storage/Storage.js"
import { GrantChanges } from "../storage/GrantChanges.js"

export interface ScopeCacheShape {
  readonly get: (userId: UserId) => Effect.Effect<Option.Option<Grant>, StorageError>
  readonly invalidate: (userId: UserId) => Effect.Effect<void>
  /** Drop the local entry only, without announcing a change (for changes announced elsewhere). */
  readonly forget: (userId: UserId) => Effect.Effect<void>
  readonly invalidateAll: Effect.Effect<void>
  /**
   * Users whose grant changed as announced through `GrantChanges` (by any
   * process), each after its entry here was dropped; for the life of the
   * scope. Only {@link ScopeCache.layer} follows the announcements.
   */
  readonly changes: Effect.Effect<Queue.Dequeue<UserId>, never, Scope.Scope>
}

type Options = { readonly ttl?: Duration.DurationInput; readonly capacity?: number }

const build = (options: Options) =>
  Effect.gen(function* () {
    const storage = yield* Storage
    const changes = yield* GrantChanges
    const ttl = Duration.decode(options.ttl ?? ScopeCache.DEFAULT_TTL)
    const cache = yield* Cache.makeWith({
      capacity: options.capacity ?? 100_000,
      lookup: (userId: UserId) => storage.getGrant(userId),
      // A storage failure must not be remembered for the whole TTL.
      timeToLive: (exit) => (Exit.isSuccess(exit) ? ttl : Duration.zero)
    })
    const announced = yield* PubSub.unbounded<UserId>()
    const service = ScopeCache.of({
      // A zero TTL still serves the failure until the clock moves (expiry is `now > expiresAt`), so drop it.
      get: (userId) => cache.get(userId).pipe(Effect.tapError(() => cache.invalidate(userId))),
      invalidate: (userId) => Effect.zipRight(cache.invalidate(userId), changes.publish(userId)),
      forget: (userId) => cache.invalidate(userId),
      invalidateAll: cache.invalidateAll,
      changes: PubSub.subscribe(announced)
    })
    return { service, cache, changes, announced } as const
  })

export class ScopeCache extends Context.Tag("nextcloud-mcp/ScopeCache")<ScopeCache, ScopeCacheShape>() {
  static readonly DEFAULT_TTL = Duration.minutes(5)

  /** The cache alone: publishes its invalidations but does not follow other processes' (see {@link ScopeCache.layer}). */
  static readonly make = (options: Options = {}) => Effect.map(build(options), ({ service }) => service)

  /** The cache, following the grant changes of other processes for the life of the layer. */
  static readonly layer = (options?: Options) =>
    Layer.scoped(
      ScopeCache,
      Effect.gen(function* () {
        const { service, cache, changes, announced } = yield* build(options ?? {})
        yield* changes.subscribe({
          onChange: (userId) => Effect.zipRight(service.forget(userId), PubSub.publish(announced, userId)),
          onReset: cache.invalidateAll
        })
        return service
      })
    )
}
